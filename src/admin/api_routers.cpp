// /api/tcp/routers: Traefik's TCPRouterInfo for each router of the serving
// Snapshot, with the rule as written and the effective priority.
#include "admin/api_items.hpp"
#include "explain/json.hpp"

namespace snigate::admin {
namespace {

using explain::api_name;

// The entry points the router was compiled into, and its effective priority there.
std::vector<std::string> entry_points_using(const session::Snapshot& snap, const std::string& name, int& priority) {
  std::vector<std::string> in;
  for (const auto& [ep, entry] : snap.entries)
    for (const session::Route& r : entry.routes)
      if (r.name == name) {
        in.push_back(ep);
        priority = r.priority;
      }
  return in;
}

json tls_json(const config::RouterTls& tls) {
  if (tls.passthrough) return {{"passthrough", true}};
  return {{"passthrough", false}, {"options", tls.options.empty() ? std::string("default") : api_name(tls.options)}};
}

// The keys snigate adds to Traefik's router (docs/configuration.md).
void add_extensions(const config::Router& r, json& j) {
  if (r.mysql_loc.line != 0) j["mysql"] = {{"allowPlaintext", r.mysql_allow_plaintext}};
  if (r.postgres_loc.line != 0) j["postgres"] = {{"allowPlaintext", r.postgres_allow_plaintext}};
  if (r.idle_timeout) j["idleTimeout"] = std::to_string(r.idle_timeout->count()) + "ms";
}

Item router_item(const session::Snapshot& snap, const config::Router& r) {
  int priority = r.priority.value_or(0);
  const std::vector<std::string> in = entry_points_using(snap, r.name, priority);
  Item item{api_name(r.name), in.empty() ? "disabled" : "enabled",
            r.rule_as_written.empty() ? r.rule : r.rule_as_written, api_name(r.service), {}, {}};
  for (const std::string& m : r.middlewares) item.middlewares.push_back(api_name(m));
  json j = {{"entryPoints", r.entry_points.empty() ? in : r.entry_points},
            {"service", item.service},
            {"rule", item.rule},
            {"ruleSyntax", r.rule_syntax.empty() ? snap.stat.default_rule_syntax : r.rule_syntax},
            {"priority", priority}};
  if (!item.middlewares.empty()) j["middlewares"] = item.middlewares;
  if (r.tls) j["tls"] = tls_json(*r.tls);
  add_extensions(r, j);
  if (in.empty()) j["error"] = {"no valid entryPoint for this router"};
  j["status"] = item.status;
  j["using"] = in;
  j["name"] = item.name;
  j["provider"] = explain::api_provider(item.name);
  item.body = std::move(j);
  return item;
}

}  // namespace

std::vector<Item> router_items(const session::Snapshot& snap) {
  std::vector<Item> items;
  if (!snap.source) return items;
  for (const auto& [name, r] : snap.source->routers) items.push_back(router_item(snap, r));
  return items;
}

}  // namespace snigate::admin
