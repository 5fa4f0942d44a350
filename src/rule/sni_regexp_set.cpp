#include "rule/sni_regexp_set.hpp"

#include <re2/set.h>

#include <algorithm>
#include <functional>
#include <string>

#include "rule/sni_regexp_options.hpp"

namespace snigate::rule {

struct SniRegexpChunk {
  // The patterns in the order added, one after another, and where each ends:
  // a later build compares them to reuse the set. Two allocations, not one a pattern.
  std::string text;
  std::vector<std::uint32_t> ends;
  std::unique_ptr<re2::RE2::Set> set;  // null when RE2 could not compile it

  std::string_view pattern(std::size_t k) const {
    const std::uint32_t begin = k == 0 ? 0 : ends[k - 1];
    return std::string_view(text).substr(begin, ends[k] - begin);
  }
  bool same_patterns(const std::vector<std::string_view>& patterns) const {
    if (patterns.size() != ends.size()) return false;
    for (std::size_t k = 0; k < patterns.size(); ++k)
      if (pattern(k) != patterns[k]) return false;
    return true;
  }
};

namespace {

std::shared_ptr<const SniRegexpChunk> build_chunk(const std::vector<std::string_view>& patterns,
                                                  std::int64_t max_mem) {
  auto chunk = std::make_shared<SniRegexpChunk>();
  chunk->ends.reserve(patterns.size());
  for (std::string_view p : patterns) {
    chunk->text.append(p);
    chunk->ends.push_back(static_cast<std::uint32_t>(chunk->text.size()));
  }
  re2::RE2::Options options = sni_regexp_options();
  options.set_max_mem(max_mem);
  // Unanchored, as RE2::PartialMatch: a pattern matches anywhere in the name unless it says ^ or $.
  auto set = std::make_unique<re2::RE2::Set>(options, re2::RE2::UNANCHORED);
  for (std::string_view p : patterns)
    if (set->Add(re2::StringPiece(p.data(), p.size()), nullptr) < 0) return chunk;
  if (set->Compile()) chunk->set = std::move(set);
  return chunk;
}

void report_all(const SniRegexpSet::Part& part, std::vector<int>& hits) {
  hits.insert(hits.end(), part.index.begin(), part.index.end());
}

// The chunk of `previous` for this bucket, if it has exactly these patterns.
std::shared_ptr<const SniRegexpChunk> same_chunk(const SniRegexpSet* previous, std::size_t bucket,
                                                 const std::vector<std::string_view>& patterns) {
  if (!previous) return nullptr;
  for (const SniRegexpSet::Part& p : previous->chunks)
    if (p.bucket == bucket)
      return p.chunk->same_patterns(patterns) ? p.chunk : nullptr;
  return nullptr;
}

}  // namespace

SniRegexpSet build_sni_regexp_set(std::span<const std::string_view> patterns, SniRegexpLimits limits,
                                  const SniRegexpSet* previous) {
  SniRegexpSet out;
  out.patterns = patterns.size();
  const std::size_t chunk = std::max<std::size_t>(limits.chunk, 1);
  out.buckets = (patterns.size() + chunk - 1) / chunk;
  if (previous && previous->buckets != out.buckets) previous = nullptr;
  std::vector<std::vector<int>> members(out.buckets);
  for (std::size_t i = 0; i < patterns.size(); ++i)
    members[std::hash<std::string_view>{}(patterns[i]) % out.buckets].push_back(static_cast<int>(i));
  for (std::size_t b = 0; b < out.buckets; ++b) {
    if (members[b].empty()) continue;
    std::vector<std::string_view> mine;
    mine.reserve(members[b].size());
    for (int i : members[b]) mine.push_back(patterns[static_cast<std::size_t>(i)]);
    auto built = same_chunk(previous, b, mine);
    out.reused_chunks += built != nullptr;
    if (!built) {
      const std::int64_t max_mem =
          std::max(limits.min_mem, static_cast<std::int64_t>(mine.size()) * limits.mem_per_pattern);
      built = build_chunk(mine, max_mem);
    }
    out.failed_chunks += built->set == nullptr;
    out.chunks.push_back(SniRegexpSet::Part{std::move(built), std::move(members[b]), b});
  }
  return out;
}

std::size_t match_sni_regexp_set(const SniRegexpSet& set, std::string_view sni, std::vector<int>& hits) {
  std::size_t failed = 0;
  std::vector<int> found;
  for (const SniRegexpSet::Part& part : set.chunks) {
    if (!part.chunk->set) {
      report_all(part, hits);
      ++failed;
      continue;
    }
    found.clear();
    re2::RE2::Set::ErrorInfo error{};
    if (part.chunk->set->Match(re2::StringPiece(sni.data(), sni.size()), &found, &error)) {
      for (int i : found) hits.push_back(part.index[static_cast<std::size_t>(i)]);
    } else if (error.kind != re2::RE2::Set::kNoError) {
      report_all(part, hits);
      ++failed;
    }
  }
  return failed;
}

}  // namespace snigate::rule
