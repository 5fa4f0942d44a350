// rule/sni_regexp_set: one RE2::Set (or several) reports exactly the patterns
// that match a name one by one, and every pattern of a set RE2 could not build.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include <re2/re2.h>

#include "rule/sni_regexp.hpp"
#include "rule/sni_regexp_set.hpp"

namespace snigate::rule {
namespace {

const std::vector<std::string> kPatterns{
    "^a\\.",  "example\\.com$", "^[a-z]+\\.test$", "^db-[0-9]+\\.", "a|test", "(?i)^B\\.EXAMPLE", "^X\\.",
    "\\.org$", "^.$",           "c\\.test\\z",     "",              "^$",     "\\pL+\\.test",     "xn--"};
const std::vector<std::string> kNames{"a.example.com", "b.example.com", "db-12.example.com", "c.test", "x.org",
                                      "a",             "X.test",        "xn--bcher-kva.test", "", "αβ.test"};

std::vector<int> one_by_one(const std::vector<std::string>& patterns, std::string_view name) {
  std::vector<int> out;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    auto compiled = compile_sni_regexp(patterns[i]);
    const auto& regex = std::get<std::shared_ptr<const SniRegexp>>(compiled);
    if (sni_regexp_matches(*regex, name)) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<int> by_set(const SniRegexpSet& set, std::string_view name, std::size_t* failed = nullptr) {
  std::vector<int> hits;
  const std::size_t f = match_sni_regexp_set(set, name, hits);
  if (failed) *failed = f;
  std::ranges::sort(hits);
  return hits;
}

TEST(RuleRegexpSet, ReportsWhatEachPatternMatchesInAnyChunking) {
  std::mt19937 rng(20261205);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> patterns;
    const std::size_t n = 1 + rng() % 12;
    for (std::size_t i = 0; i < n; ++i) patterns.push_back(kPatterns[rng() % kPatterns.size()]);
    const std::vector<std::string_view> views(patterns.begin(), patterns.end());
    for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{4096}}) {
      const SniRegexpSet set = build_sni_regexp_set(views, {.chunk = chunk, .min_mem = 64 << 20, .mem_per_pattern = 0});
      ASSERT_EQ(set.failed_chunks, 0u);
      EXPECT_EQ(set.buckets, (n + chunk - 1) / chunk);
      EXPECT_LE(set.chunks.size(), set.buckets);  // a bucket no pattern hashes to has no set
      for (const std::string& name : kNames) {
        std::size_t failed = 1;
        EXPECT_EQ(by_set(set, name, &failed), one_by_one(patterns, name)) << "name \"" << name << "\", chunk " << chunk;
        EXPECT_EQ(failed, 0u);
      }
    }
  }
}

TEST(RuleRegexpSet, AChunkRe2CannotBuildReportsAllItsPatterns) {
  const std::vector<std::string_view> patterns{"^a\\.", "^b\\.", "^c\\."};
  // Too little memory for any program: every chunk fails, and answers "maybe" for all its patterns.
  const SniRegexpSet set = build_sni_regexp_set(patterns, {.chunk = 2, .min_mem = 1, .mem_per_pattern = 0});
  EXPECT_EQ(set.failed_chunks, set.chunks.size());
  std::size_t failed = 0;
  EXPECT_EQ(by_set(set, "z.example.com", &failed), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(failed, set.chunks.size());
}

// A reload that changes one pattern rebuilds only the set it hashes to; the
// others are shared, and the answers are those of a set built afresh.
TEST(RuleRegexpSet, ABuildReusesTheSetsWhosePatternsAreTheSame) {
  std::vector<std::string> patterns;
  for (int i = 0; i < 400; ++i) patterns.push_back("^r" + std::to_string(i) + "-[a-z]+\\.test$");
  std::vector<std::string_view> views(patterns.begin(), patterns.end());
  const SniRegexpLimits limits{.chunk = 50, .min_mem = 64 << 20, .mem_per_pattern = 0};
  const SniRegexpSet first = build_sni_regexp_set(views, limits);
  ASSERT_EQ(first.buckets, 8u);
  EXPECT_EQ(first.reused_chunks, 0u);

  const SniRegexpSet same = build_sni_regexp_set(views, limits, &first);
  EXPECT_EQ(same.reused_chunks, first.chunks.size());

  patterns[7] = "^changed-[a-z]+\\.test$";
  views.assign(patterns.begin(), patterns.end());
  const SniRegexpSet changed = build_sni_regexp_set(views, limits, &same);
  EXPECT_GE(changed.reused_chunks, first.chunks.size() - 2);  // the old pattern's set, and the new one's
  EXPECT_LT(changed.reused_chunks, first.chunks.size());
  for (const char* name : {"r7-abc.test", "changed-x.test", "r399-z.test", "r400-z.test"})
    EXPECT_EQ(by_set(changed, name), one_by_one(patterns, name)) << name;

  // Another number of sets shares nothing: patterns would hash elsewhere.
  views.resize(300);
  EXPECT_EQ(build_sni_regexp_set(views, limits, &changed).reused_chunks, 0u);
}

TEST(RuleRegexpSet, EmptySetReportsNothing) {
  const SniRegexpSet set = build_sni_regexp_set({});
  EXPECT_TRUE(set.chunks.empty());
  EXPECT_TRUE(by_set(set, "a.example.com").empty());
}

// A pattern is checked when parsed but compiled on first use; the errors are
// the same either way, and threads that race to the first use agree.
TEST(RuleSniRegexp, RefusesWhatRe2RefusesWithoutCompiling) {
  for (const char* bad : {"(", "a{2,1}", "[z-a]", "(?<name", "((a{100}){100}){100}"}) {
    auto parsed = compile_sni_regexp(bad);
    ASSERT_TRUE(std::holds_alternative<std::string>(parsed)) << bad;
    EXPECT_EQ(std::get<std::string>(parsed), re2::RE2(bad, re2::RE2::Quiet).error()) << bad;
  }
  // Long patterns are compiled at once: their errors come from RE2's compiler too.
  const std::string long_bad(600, '(');
  EXPECT_TRUE(std::holds_alternative<std::string>(compile_sni_regexp(long_bad)));
  std::string long_ok = "^(";
  for (int i = 0; i < 120; ++i) long_ok += "n" + std::to_string(i) + "x|";
  long_ok += "z)\\.example\\.com$";
  ASSERT_GE(long_ok.size(), 512u);
  auto ok = compile_sni_regexp(long_ok);
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const SniRegexp>>(ok));
  EXPECT_TRUE(sni_regexp_matches(*std::get<std::shared_ptr<const SniRegexp>>(ok), "n42x.example.com"));
}

TEST(RuleSniRegexp, ThreadsRacingToTheFirstMatchAgree) {
  auto parsed = compile_sni_regexp("^db-[0-9]+\\.example\\.com$");
  const auto& regex = *std::get<std::shared_ptr<const SniRegexp>>(parsed);
  std::vector<int> results(8, -1);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] { results[i] = sni_regexp_matches(regex, i % 2 ? "db-7.example.com" : "db-x.example.com"); });
  for (std::thread& t : threads) t.join();
  for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i], i % 2 ? 1 : 0) << i;
  EXPECT_EQ(regex.pattern(), "^db-[0-9]+\\.example\\.com$");
}

}  // namespace
}  // namespace snigate::rule
