#include "session/route_index.hpp"

#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <string>
#include <utility>

#include "rule/sni_keys.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {
namespace {

using KeyedRoute = std::pair<std::string_view, std::uint32_t>;

// Sorted by key, a route listed twice under one key (HostSNI(`a`, `a`)) kept
// once; calls add(key, range) for each distinct key, its routes ascending.
template <typename Add>
void fill(std::vector<KeyedRoute>& keyed, std::vector<std::uint32_t>& positions, Add add) {
  std::ranges::sort(keyed);
  const auto dups = std::ranges::unique(keyed);
  keyed.erase(dups.begin(), dups.end());
  for (std::size_t i = 0; i < keyed.size();) {
    SniTable::Range range{static_cast<std::uint32_t>(positions.size()), 0};
    const std::string_view key = keyed[i].first;
    for (; i < keyed.size() && keyed[i].first == key; ++i) positions.push_back(keyed[i].second);
    range.end = static_cast<std::uint32_t>(positions.size());
    add(key, range);
  }
}

void fill_map(std::vector<KeyedRoute>& keyed, std::unordered_map<std::string_view, SniTable::Range>& map,
              std::vector<std::uint32_t>& positions) {
  map.reserve(keyed.size());
  fill(keyed, positions, [&map](std::string_view key, SniTable::Range range) { map.emplace(key, range); });
}

// One pattern per distinct regex text, in one RE2::Set (of chunks).
void fill_regexps(std::vector<KeyedRoute>& keyed, SniTable& table, bool tls, const SniTable* previous) {
  std::vector<std::string_view> patterns;
  fill(keyed, table.positions, [&](std::string_view pattern, SniTable::Range range) {
    patterns.push_back(pattern);
    table.regexp_routes.push_back(range);
  });
  table.regexps = rule::build_sni_regexp_set(patterns, {}, previous ? &previous->regexps : nullptr);
  if (table.regexps.failed_chunks)
    spdlog::warn("route index: RE2 could not compile {} of the {} set(s) of HostSNIRegexp patterns of the {} routers; "
                 "their routers are tried one by one",
                 table.regexps.failed_chunks, table.regexps.chunks.size(), tls ? "TLS" : "plain");
}

std::span<const std::uint32_t> hits(const std::unordered_map<std::string_view, SniTable::Range>& map,
                                    std::string_view key, const std::vector<std::uint32_t>& positions) {
  if (key.empty()) return {};
  const auto it = map.find(key);
  if (it == map.end()) return {};
  return std::span(positions).subspan(it->second.begin, it->second.end - it->second.begin);
}

// The routes of the patterns that match the client's name (a regex never
// matches an empty one), ascending and each once.
std::vector<std::uint32_t> regexp_hits(const SniTable& table, std::string_view sni) {
  std::vector<std::uint32_t> out;
  if (table.regexp_routes.empty() || sni.empty()) return out;
  std::vector<int> patterns;
  if (rule::match_sni_regexp_set(table.regexps, sni, patterns) != 0) {
    static std::atomic<bool> logged{false};
    if (!logged.exchange(true))
      spdlog::warn("route index: RE2 ran out of memory matching HostSNIRegexp patterns; their routers are tried one "
                   "by one when that happens (logged once)");
  }
  for (int p : patterns) {
    const SniTable::Range r = table.regexp_routes[static_cast<std::size_t>(p)];
    out.insert(out.end(), table.positions.begin() + r.begin, table.positions.begin() + r.end);
  }
  std::ranges::sort(out);
  const auto dups = std::ranges::unique(out);
  out.erase(dups.begin(), dups.end());
  return out;
}

// Ascending lists whose union is every route of the client's kind that can take it.
struct Lists {
  std::array<std::span<const std::uint32_t>, 4> spans;  // exact, wildcard, regexp, rest
  std::vector<std::uint32_t> by_regexp;  // what spans[2] shows
};

void gather(const RouteIndex& index, const Facts& facts, Lists& lists) {
  const SniTable& table = index.by_tls[facts.tls ? 1 : 0];
  std::string buffer;
  const std::string_view key = rule::sni_lookup_key(facts.sni, buffer);
  lists.by_regexp = regexp_hits(table, facts.sni);  // Facts' name, as rule::match gives it to the regex
  lists.spans = {hits(table.exact, key, table.positions),
                 hits(table.suffixes, rule::wildcard_suffix_of(key), table.positions), lists.by_regexp, table.rest};
}

// The smallest position at the front of any list, taken off every list it
// fronts (a route in two lists is visited once); UINT32_MAX when all are empty.
std::uint32_t pop_next(std::span<std::span<const std::uint32_t>> lists) {
  std::uint32_t next = UINT32_MAX;
  for (const auto& list : lists)
    if (!list.empty()) next = std::min(next, list.front());
  for (auto& list : lists)
    if (!list.empty() && list.front() == next) list = list.subspan(1);
  return next;
}

}  // namespace

RouteIndex build_route_index(std::span<const Route> routes, const RouteIndex* previous) {
  RouteIndex index;
  index.built = true;
  std::array<std::vector<KeyedRoute>, 2> exact, suffixes, regexps;
  for (std::size_t pos = 0; pos < routes.size(); ++pos) {
    const std::size_t t = routes[pos].tls ? 1 : 0;
    const auto p = static_cast<std::uint32_t>(pos);
    const auto keys = rule::sni_keys(routes[pos].rule);
    if (!keys) {
      index.by_tls[t].rest.push_back(p);
      continue;
    }
    for (std::string_view name : keys->exact) exact[t].emplace_back(name, p);
    for (std::string_view suffix : keys->suffixes) suffixes[t].emplace_back(suffix, p);
    for (const rule::SniRegexp* regex : keys->regexps) regexps[t].emplace_back(regex->pattern(), p);
  }
  for (std::size_t t = 0; t < 2; ++t) {
    SniTable& table = index.by_tls[t];
    table.positions.reserve(exact[t].size() + suffixes[t].size() + regexps[t].size());
    fill_map(exact[t], table.exact, table.positions);
    fill_map(suffixes[t], table.suffixes, table.positions);
    fill_regexps(regexps[t], table, t == 1, previous ? &previous->by_tls[t] : nullptr);
    table.rest.shrink_to_fit();
  }
  return index;
}

// Walks the union of the ascending lists in ascending order, so the first
// route that passes is the walk's choice.
const Route* first_match(const RouteIndex& index, std::span<const Route> routes, const Facts& facts) {
  Lists lists;
  gather(index, facts, lists);
  for (std::uint32_t next = pop_next(lists.spans); next != UINT32_MAX; next = pop_next(lists.spans)) {
    const Route& r = routes[next];
    if (r.tls == facts.tls && rule::match(r.rule, facts)) return &r;
  }
  return nullptr;
}

Candidates candidates(const RouteIndex& index, const Facts& facts) {
  Lists lists;
  gather(index, facts, lists);
  Candidates out;
  out.rest.assign(lists.spans[3].begin(), lists.spans[3].end());
  const auto by_name = std::span(lists.spans).first(3);
  for (std::uint32_t next = pop_next(by_name); next != UINT32_MAX; next = pop_next(by_name)) out.by_name.push_back(next);
  return out;
}

}  // namespace snigate::session
