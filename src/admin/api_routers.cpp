// /api/tcp/routers: Traefik's TCPRouterInfo for each router of the serving
// Snapshot, with the rule as written and the effective priority.
#include <map>

#include "admin/api_items.hpp"
#include "explain/json.hpp"

namespace snigate::admin {
namespace {

using explain::api_name;

json tls_json(const session::Route& r) {
  if (r.passthrough) return {{"passthrough", true}};
  const bool builtin = !r.options || r.options->name == "default";  // unset, or named: the same options
  return {{"passthrough", false}, {"options", builtin ? std::string("default") : api_name(r.options->name)}};
}

// The keys snigate adds to Traefik's router (docs/configuration.md).
void add_extensions(const session::Route& r, json& j) {
  if (r.mysql_written) j["mysql"] = {{"allowPlaintext", r.allow_plaintext}};
  if (r.postgres_written) j["postgres"] = {{"allowPlaintext", r.pg_allow_plaintext}};
  if (r.idle_timeout) j["idleTimeout"] = std::to_string(r.idle_timeout->count()) + "ms";
}

// The fields a list filters on.
Item router_fields(const RouterUse& use) {
  const session::Route& r = *use.route;
  Item item{api_name(r.name), use.entry_points.empty() ? "disabled" : "enabled",
            r.rule_as_written.empty() ? r.rule.text : r.rule_as_written,
            r.service ? api_name(r.service->name) : std::string(), {}, {}, {}};
  for (const policy::Middleware* m : r.middlewares) item.middlewares.push_back(api_name(m->name));
  return item;
}

json router_json(const RouterUse& use) {
  const session::Route& r = *use.route;
  const std::vector<std::string>& in = use.entry_points;
  const Item item = router_fields(use);
  json j = {{"entryPoints", in},
            {"service", item.service},
            {"rule", item.rule},
            {"ruleSyntax", r.v2_syntax ? "v2" : "v3"},
            {"priority", r.priority}};
  if (!item.middlewares.empty()) j["middlewares"] = item.middlewares;
  if (r.tls) j["tls"] = tls_json(r);
  add_extensions(r, j);
  if (in.empty()) j["error"] = {"no valid entryPoint for this router"};
  j["status"] = item.status;
  j["using"] = in;
  j["name"] = item.name;
  j["provider"] = explain::api_provider(item.name);
  return j;
}

Item router_item(RouterUse use) {
  Item item = router_fields(use);
  item.build = [use = std::move(use)] { return router_json(use); };
  return item;
}

}  // namespace

std::vector<RouterUse> routers_by_name(const session::Snapshot& snap) {
  std::map<std::string_view, RouterUse> by_name;
  for (const auto& [ep, entry] : snap.entries)
    for (const session::Route& r : entry.routes) {
      RouterUse& use = by_name[r.name];
      use.route = &r;
      use.entry_points.push_back(ep);
    }
  for (const session::Route& r : snap.unattached) by_name[r.name].route = &r;
  std::vector<RouterUse> out;
  out.reserve(by_name.size());
  for (auto& [name, use] : by_name) out.push_back(std::move(use));
  return out;
}

std::vector<Item> router_items(const session::Snapshot& snap) {
  std::vector<Item> items;
  for (RouterUse& use : routers_by_name(snap)) items.push_back(router_item(std::move(use)));
  return items;
}

}  // namespace snigate::admin
