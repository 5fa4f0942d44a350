// /api/tcp/middlewares: Traefik's TCPMiddlewareInfo for each middleware.
#include <map>

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

// The routers whose chain has each middleware, by the middleware's name.
std::map<std::string, std::vector<std::string>> users_of_middlewares(const session::Snapshot& snap) {
  std::map<std::string, std::vector<std::string>> users;
  for (const RouterUse& use : routers_by_name(snap))
    for (const policy::Middleware* m : use.route->middlewares) {
      std::vector<std::string>& names = users[m->name];
      if (names.empty() || names.back() != api_name(use.route->name)) names.push_back(api_name(use.route->name));
    }
  return users;
}

}  // namespace

std::vector<Item> middleware_items(const session::Snapshot& snap) {
  std::vector<Item> items;
  if (!snap.source) return items;
  auto users = users_of_middlewares(snap);
  for (const auto& [name, m] : snap.source->middlewares) {
    std::string type;
    json j = middleware_config(m, type);
    j["status"] = "enabled";
    j["usedBy"] = std::move(users[name]);
    j["name"] = api_name(name);
    j["provider"] = explain::api_provider(name);
    j["type"] = type;
    items.push_back(Item{api_name(name), "enabled", "", "", {}, std::move(j), {}});
  }
  return items;
}

}  // namespace snigate::admin
