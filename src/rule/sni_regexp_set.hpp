#pragma once
// Many HostSNIRegexp patterns matched against one name in a single pass
// (RE2::Set), so that an entry point with thousands of regexp routers runs
// one automaton per client instead of one regex per router.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace snigate::rule {

struct SniRegexpChunk;  // one compiled RE2::Set and the patterns in it (sni_regexp_set.cpp)

// Pattern i of the set is the i-th pattern given to build_sni_regexp_set.
// Patterns go to sets by a hash of their text, so a reload that adds,
// removes or changes a few patterns builds only the sets they fall in and
// shares every other one with the set it replaces.
struct SniRegexpSet {
  struct Part {
    std::shared_ptr<const SniRegexpChunk> chunk;
    std::vector<int> index;  // the chunk's pattern k is the whole set's pattern index[k]
    std::size_t bucket = 0;
  };
  std::vector<Part> chunks;
  std::size_t buckets = 0;  // how patterns were shared out; a later build reuses chunks only with the same
  std::size_t patterns = 0;
  std::size_t failed_chunks = 0;  // RE2 could not compile them: their patterns are always reported
  std::size_t reused_chunks = 0;  // taken from `previous` instead of built
};

struct SniRegexpLimits {
  // Patterns per RE2::Set, on average. One set matches a name in about the
  // time of one regex (200 ns) whatever its size, and each further set adds
  // that time again; smaller sets make a change cheaper to rebuild.
  std::size_t chunk = 25'000;
  // RE2's max_mem for a set of n patterns: max(min_mem, n * mem_per_pattern),
  // room for its program and for the DFA, which RE2::Set relies on alone (it
  // has no slower fallback). The DFA takes memory as it meets new names and
  // starts over when it has used it all.
  std::int64_t min_mem = std::int64_t{64} << 20;
  std::int64_t mem_per_pattern = 2048;
};

// `patterns` as written in HostSNIRegexp, each valid on its own (parse() has
// checked it), in sets of about `limits.chunk` patterns. A set of `previous`
// with exactly the same patterns is shared instead of built again.
SniRegexpSet build_sni_regexp_set(std::span<const std::string_view> patterns, SniRegexpLimits limits = {},
                                  const SniRegexpSet* previous = nullptr);

// Appends to `hits` the index of every pattern that matches `sni` as
// sni_regexp_matches would, and of every pattern of a chunk that could not
// answer (not compiled, or RE2 ran out of memory): those the caller must
// try one by one. Returns how many chunks could not answer; `hits` is not
// sorted.
std::size_t match_sni_regexp_set(const SniRegexpSet& set, std::string_view sni, std::vector<int>& hits);

}  // namespace snigate::rule
