// /api/tcp/middlewares: Traefik's TCPMiddlewareInfo, and the entry points
// (/api/entrypoints) with snigate's own keys next to Traefik's.
#include <algorithm>

#include "admin/api_items.hpp"
#include "explain/json.hpp"

namespace snigate::admin {
namespace {

using explain::api_name;

std::string duration(config::Duration d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s" : std::to_string(d.count()) + "ms";
}

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

json entry_point_json(const config::EntryPoint& ep) {
  json j = {{"address", ep.address},
            {"transport",
             {{"lifeCycle",
               {{"graceTimeOut", duration(ep.grace_timeout)},
                {"requestAcceptGraceTimeout", duration(ep.accept_grace_timeout)}}},
              {"respondingTimeouts", {{"readTimeout", duration(ep.client_hello_timeout)}}}}},
            {"asDefault", ep.as_default}};
  if (ep.proxy_protocol)
    j["proxyProtocol"] = {{"insecure", ep.proxy_protocol->insecure}, {"trustedIPs", ep.proxy_protocol->trusted_ips}};
  j["protocol"] = ep.protocol == config::Protocol::mysql      ? "mysql"
                  : ep.protocol == config::Protocol::postgres ? "postgres"
                  : ep.admin                                   ? "http"
                                                               : "tcp";
  j["tcpIdleTimeout"] = duration(ep.tcp_idle_timeout);
  j["firstByteTimeout"] = duration(ep.first_byte_timeout);
  j["reusePort"] = ep.reuse_port;
  j["name"] = ep.name;
  return j;
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
    j["provider"] = "file";
    j["type"] = type;
    items.push_back(Item{api_name(name), "enabled", "", "", {}, std::move(j)});
  }
  return items;
}

std::vector<Item> entry_point_items(const config::Static& stat) {
  std::vector<Item> items;
  for (const auto& [name, ep] : stat.entry_points) items.push_back(Item{name, "enabled", "", "", {}, entry_point_json(ep)});
  return items;
}

}  // namespace snigate::admin
