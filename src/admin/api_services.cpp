// /api/tcp/services: Traefik's TCPServiceInfo for each service, with each
// server's state as the running gateway sees it now (serverStatus).
#include <algorithm>
#include <map>

#include "admin/api_items.hpp"
#include "balance/health_report.hpp"
#include "explain/json.hpp"

namespace snigate::admin {
namespace {

using explain::api_name;

json health_check_json(const config::HealthCheck& h) {
  json j = {{"interval", duration(h.interval)},
            {"unhealthyInterval", duration(h.unhealthy_interval.value_or(h.interval))},
            {"timeout", duration(h.timeout)}};
  if (h.port != 0) j["port"] = h.port;
  if (!h.send.empty()) j["send"] = h.send;
  if (!h.expect.empty()) j["expect"] = h.expect;
  if (h.tls) j["tls"] = true;
  if (!h.protocol.empty()) j["protocol"] = h.protocol;
  return j;
}

json load_balancer_json(const config::Service& s) {
  json servers = json::array();
  for (const config::Server& srv : s.servers) {
    json one = {{"address", srv.address}};
    if (srv.tls) one["tls"] = true;
    servers.push_back(std::move(one));
  }
  json j = {{"servers", servers}};
  if (!s.servers_transport.empty()) j["serversTransport"] = api_name(s.servers_transport);
  if (s.proxy_protocol_version != 0) j["proxyProtocol"] = {{"version", s.proxy_protocol_version}};
  if (s.health_check) j["healthCheck"] = health_check_json(*s.health_check);
  j["passiveHealthCheck"] = {{"failures", s.passive.failures}, {"downtime", duration(s.passive.downtime)}};
  return j;
}

json weighted_json(const config::Service& s) {
  json children = json::array();
  for (const config::WeightedChild& c : s.children)
    children.push_back({{"name", api_name(c.name)}, {"weight", c.weight}});
  json j = {{"services", children}};
  if (s.weighted_health_check) j["healthCheck"] = json::object();
  return j;
}

// UP or DOWN for each server, as a connection would find it now.
json server_status(const session::Service& svc) {
  json j = json::object();
  const balance::Nanos now = balance::steady_now();
  for (const balance::Server& s : svc.servers) j[s.address] = balance::looks_usable(*s.health, now) ? "UP" : "DOWN";
  return j;
}

using UsersOf = std::map<const session::Service*, std::vector<std::string>>;

// svc and every service under it (a weighted service's children) are used by `name`.
void add_user(const session::Service* svc, const std::string& name, UsersOf& users) {
  std::vector<std::string>& names = users[svc];
  if (names.empty() || names.back() != name) names.push_back(name);
  for (const session::Service* c : svc->children) add_user(c, name, users);
}

// The routers that send clients to each service, directly or through a
// weighted service, in name order; routers in no entry point send none.
UsersOf users_of_services(const session::Snapshot& snap) {
  UsersOf users;
  for (const RouterUse& use : routers_by_name(snap))
    if (use.route->service && !use.entry_points.empty()) add_user(use.route->service, api_name(use.route->name), users);
  return users;
}

Item service_item(const config::Service& s, const session::Service* compiled, UsersOf& users) {
  Item item{api_name(s.name), "enabled", "", "", {}, {}, {}};
  json j = json::object();
  if (s.weighted) j["weighted"] = weighted_json(s);
  else j["loadBalancer"] = load_balancer_json(s);
  j["status"] = item.status;
  if (compiled && !s.weighted) j["serverStatus"] = server_status(*compiled);
  j["usedBy"] = compiled ? std::move(users[compiled]) : std::vector<std::string>{};
  j["name"] = item.name;
  j["provider"] = explain::api_provider(item.name);
  j["type"] = s.weighted ? "weighted" : "loadbalancer";
  item.body = std::move(j);
  return item;
}

// whoami@internal, when a router uses it: the service snigate answers itself.
void add_internal(const session::Snapshot& snap, UsersOf& users_of, std::vector<Item>& items) {
  auto it = snap.services.find("whoami@internal");
  if (it == snap.services.end()) return;
  std::vector<std::string> users = std::move(users_of[it->second.get()]);
  if (users.empty()) return;
  items.push_back(Item{"whoami@internal", "enabled", "", "", {}, {}, {}});
  items.back().body = {{"status", "enabled"}, {"usedBy", users}, {"name", "whoami@internal"}, {"provider", "internal"}};
}

}  // namespace

std::vector<Item> service_items(const session::Snapshot& snap) {
  std::vector<Item> items;
  if (!snap.source) return items;
  UsersOf users = users_of_services(snap);
  for (const auto& [name, s] : snap.source->services) {
    auto it = snap.services.find(name);
    items.push_back(service_item(s, it == snap.services.end() ? nullptr : it->second.get(), users));
  }
  add_internal(snap, users, items);
  return items;
}

}  // namespace snigate::admin
