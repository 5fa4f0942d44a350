#include "rule/sni_regexp_set.hpp"

#include <re2/set.h>

#include <algorithm>

#include "rule/sni_regexp_options.hpp"

namespace snigate::rule {

struct SniRegexpChunk {
  int first = 0;  // index in the whole set of this chunk's pattern 0
  int count = 0;
  std::unique_ptr<re2::RE2::Set> set;  // null when RE2 could not compile it
};

namespace {

std::shared_ptr<const SniRegexpChunk> build_chunk(std::span<const std::string_view> patterns, int first,
                                                  std::int64_t max_mem) {
  auto chunk = std::make_shared<SniRegexpChunk>();
  chunk->first = first;
  chunk->count = static_cast<int>(patterns.size());
  re2::RE2::Options options = sni_regexp_options();
  options.set_max_mem(max_mem);
  // Unanchored, as RE2::PartialMatch: a pattern matches anywhere in the name unless it says ^ or $.
  auto set = std::make_unique<re2::RE2::Set>(options, re2::RE2::UNANCHORED);
  for (std::string_view p : patterns)
    if (set->Add(re2::StringPiece(p.data(), p.size()), nullptr) < 0) return chunk;
  if (set->Compile()) chunk->set = std::move(set);
  return chunk;
}

void report_all(const SniRegexpChunk& chunk, std::vector<int>& hits) {
  for (int i = 0; i < chunk.count; ++i) hits.push_back(chunk.first + i);
}

}  // namespace

SniRegexpSet build_sni_regexp_set(std::span<const std::string_view> patterns, SniRegexpLimits limits) {
  SniRegexpSet out;
  out.patterns = patterns.size();
  const std::size_t chunk = std::max<std::size_t>(limits.chunk, 1);
  for (std::size_t first = 0; first < patterns.size(); first += chunk) {
    const std::size_t n = std::min(chunk, patterns.size() - first);
    const std::int64_t max_mem = std::max(limits.min_mem, static_cast<std::int64_t>(n) * limits.mem_per_pattern);
    out.chunks.push_back(build_chunk(patterns.subspan(first, n), static_cast<int>(first), max_mem));
    out.failed_chunks += out.chunks.back()->set == nullptr;
  }
  return out;
}

std::size_t match_sni_regexp_set(const SniRegexpSet& set, std::string_view sni, std::vector<int>& hits) {
  std::size_t failed = 0;
  std::vector<int> found;
  for (const auto& chunk : set.chunks) {
    if (!chunk->set) {
      report_all(*chunk, hits);
      ++failed;
      continue;
    }
    found.clear();
    re2::RE2::Set::ErrorInfo error{};
    if (chunk->set->Match(re2::StringPiece(sni.data(), sni.size()), &found, &error)) {
      for (int i : found) hits.push_back(chunk->first + i);
    } else if (error.kind != re2::RE2::Set::kNoError) {
      report_all(*chunk, hits);
      ++failed;
    }
  }
  return failed;
}

}  // namespace snigate::rule
