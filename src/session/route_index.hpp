#pragma once
// The routes a client's server name can match, found by hash lookups instead
// of trying every route: built once per snapshot and entry point, so that
// matching costs about the same with 100,000 routers as with one.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rule/facts.hpp"
#include "rule/sni_regexp_set.hpp"

namespace snigate::session {

struct Route;

// Positions in the entry point's routes (priority order) of the routes of one
// `tls` value. Keys are views into the routes' compiled rules, which the
// entry point holds as long as its index.
struct SniTable {
  struct Range {
    std::uint32_t begin = 0, end = 0;  // into `positions`
  };
  std::unordered_map<std::string_view, Range> exact;     // HostSNI name -> its routes
  std::unordered_map<std::string_view, Range> suffixes;  // `*.suffix` by suffix -> its routes
  rule::SniRegexpSet regexps;         // each distinct HostSNIRegexp pattern once
  std::vector<Range> regexp_routes;   // pattern i of `regexps` -> its routes
  std::vector<std::uint32_t> positions;  // every range's routes, each range ascending
  std::vector<std::uint32_t> rest;  // routes whose rule says nothing usable about the name, ascending
};

struct RouteIndex {
  bool built = false;  // an EntryRoutes put together by hand (tests) has none; match() then walks
  std::array<SniTable, 2> by_tls;  // [0] plain routes, [1] TLS routes
};

// `routes` in priority order, as EntryRoutes keeps them. The pattern sets of
// `previous` (the same entry point's index in the snapshot being replaced)
// that have the same patterns are shared instead of built again.
RouteIndex build_route_index(std::span<const Route> routes, const RouteIndex* previous = nullptr);

// The first route in priority order that takes a client with these facts,
// trying only the candidates the index gives: exactly what trying every
// route in order would pick, since every route left out cannot match.
const Route* first_match(const RouteIndex& index, std::span<const Route> routes, const Facts& facts);

// The routes first_match tries for a client, as positions in priority order:
// those of the client's kind (TLS or plain) whose rule's name condition the
// client's name meets, and those whose rule says nothing usable about the
// name (the table's `rest`). Every other route cannot take the client.
struct Candidates {
  std::vector<std::uint32_t> by_name;
  std::vector<std::uint32_t> rest;
};
Candidates candidates(const RouteIndex& index, const Facts& facts);

}  // namespace snigate::session
