#include "session/route_index.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "rule/sni_keys.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {
namespace {

using KeyedRoute = std::pair<std::string_view, std::uint32_t>;

// One range per distinct key; a route listed twice under one key (HostSNI(`a`, `a`)) is kept once.
void fill(std::vector<KeyedRoute>& keyed, std::unordered_map<std::string_view, SniTable::Range>& map,
          std::vector<std::uint32_t>& positions) {
  std::ranges::sort(keyed);
  const auto dups = std::ranges::unique(keyed);
  keyed.erase(dups.begin(), dups.end());
  for (std::size_t i = 0; i < keyed.size();) {
    SniTable::Range range{static_cast<std::uint32_t>(positions.size()), 0};
    const std::string_view key = keyed[i].first;
    for (; i < keyed.size() && keyed[i].first == key; ++i) positions.push_back(keyed[i].second);
    range.end = static_cast<std::uint32_t>(positions.size());
    map.emplace(key, range);
  }
}

std::span<const std::uint32_t> hits(const std::unordered_map<std::string_view, SniTable::Range>& map,
                                    std::string_view key, const std::vector<std::uint32_t>& positions) {
  if (key.empty()) return {};
  const auto it = map.find(key);
  if (it == map.end()) return {};
  return std::span(positions).subspan(it->second.begin, it->second.end - it->second.begin);
}

}  // namespace

RouteIndex build_route_index(std::span<const Route> routes) {
  RouteIndex index;
  index.built = true;
  std::array<std::vector<KeyedRoute>, 2> exact, suffixes;
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
  }
  for (std::size_t t = 0; t < 2; ++t) {
    SniTable& table = index.by_tls[t];
    table.exact.reserve(exact[t].size());
    table.suffixes.reserve(suffixes[t].size());
    table.positions.reserve(exact[t].size() + suffixes[t].size());
    fill(exact[t], table.exact, table.positions);
    fill(suffixes[t], table.suffixes, table.positions);
    table.rest.shrink_to_fit();
  }
  return index;
}

// Walks the union of three ascending lists in ascending order (a route in two
// of them is tried once), so the first that passes is the walk's choice.
const Route* first_match(const RouteIndex& index, std::span<const Route> routes, const Facts& facts) {
  const SniTable& table = index.by_tls[facts.tls ? 1 : 0];
  std::string buffer;
  const std::string_view key = rule::sni_lookup_key(facts.sni, buffer);
  std::array<std::span<const std::uint32_t>, 3> lists{hits(table.exact, key, table.positions),
                                                      hits(table.suffixes, rule::wildcard_suffix_of(key), table.positions),
                                                      table.rest};
  while (true) {
    std::uint32_t next = UINT32_MAX;
    for (const auto& list : lists)
      if (!list.empty()) next = std::min(next, list.front());
    if (next == UINT32_MAX) return nullptr;
    for (auto& list : lists)
      if (!list.empty() && list.front() == next) list = list.subspan(1);
    const Route& r = routes[next];
    if (r.tls == facts.tls && rule::match(r.rule, facts)) return &r;
  }
}

}  // namespace snigate::session
