#pragma once
// A router's middlewares, compiled: what each one checks and the shared state
// it counts in. The journey runs a route's chain once the route is known and
// before anything reaches a server (docs/policy.md).
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "policy/in_flight.hpp"
#include "policy/rate_limit.hpp"
#include "rule/ast.hpp"

namespace snigate::policy {

using Kind = config::MiddlewareKind;

struct Middleware {
  std::string name;
  Kind kind = Kind::ip_allow_list;
  std::vector<rule::IpRange> ranges;           // ipAllowList
  int amount = 0;                              // inFlightConn
  std::shared_ptr<InFlightCounts> in_flight;   // inFlightConn: shared by name across reloads
  RateSpec rate;                               // rateLimit
  std::shared_ptr<RateBuckets> buckets;        // rateLimit: shared by name across reloads
};

// Compiles a middleware that load() accepted; its state comes from the registry.
std::unique_ptr<Middleware> build(const config::Middleware& m);

// "ipAllowList", "inFlightConn", "rateLimit".
std::string_view kind_name(Kind k);

// True when one of the ranges holds ip (IPv4-mapped IPv6 as IPv4).
bool allows(std::span<const rule::IpRange> ranges, const IpAddress& ip);

// Runs the chain in order for a new connection from ip. Returns the first
// middleware that refuses it, or nullptr; when all let it through, tickets
// holds the in-flight slots taken (to be kept as long as the connection).
const Middleware* run_chain(std::span<const Middleware* const> chain, const IpAddress& ip,
                            std::chrono::steady_clock::time_point now, std::vector<InFlightTicket>& tickets);

}  // namespace snigate::policy
