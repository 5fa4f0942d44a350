// /api/tcp/middlewares: Traefik's TCPMiddlewareInfo for each middleware.
#include <algorithm>

#include "admin/api_items.hpp"
#include "explain/json.hpp"

namespace snigate::admin {
namespace {

using explain::api_name;

// Traefik's key and type for each kind; rateLimit is snigate's own on TCP.
json middleware_config(const config::Middleware& m, std::string& type) {
  switch (m.kind) {
    case config::MiddlewareKind::ip_allow_list:
      type = "ipallowlist";
      return {{"ipAllowList", {{"sourceRange", m.source_range}}}};
    case config::MiddlewareKind::in_flight_conn:
      type = "inflightconn";
      return {{"inFlightConn", {{"amount", m.amount}}}};
    case config::MiddlewareKind::rate_limit: break;
  }
  type = "ratelimit";
  return {{"rateLimit", {{"average", m.average}, {"burst", m.burst}, {"period", duration(m.period)}}}};
}

// The routers whose chain has the middleware.
std::vector<std::string> used_by(const config::Dynamic& dyn, const std::string& name) {
  std::vector<std::string> users;
  for (const auto& [rname, r] : dyn.routers)
    if (std::ranges::any_of(r.middlewares, [&](const std::string& m) { return m == name || m == name + "@file"; }))
      users.push_back(api_name(rname));
  return users;
}

}  // namespace

std::vector<Item> middleware_items(const session::Snapshot& snap) {
  std::vector<Item> items;
  if (!snap.source) return items;
  for (const auto& [name, m] : snap.source->middlewares) {
    std::string type;
    json j = middleware_config(m, type);
    j["status"] = "enabled";
    j["usedBy"] = used_by(*snap.source, name);
    j["name"] = api_name(name);
    j["provider"] = explain::api_provider(name);
    j["type"] = type;
    items.push_back(Item{api_name(name), "enabled", "", "", {}, std::move(j)});
  }
  return items;
}

}  // namespace snigate::admin
