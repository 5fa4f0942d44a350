#include "admin/api.hpp"

#include <functional>

#include "admin/api_items.hpp"

namespace snigate::admin {
namespace {

// A list and its items: /api/<path> lists them, /api/<path>/<name> is one.
struct Collection {
  std::string_view path;
  std::string_view what;  // for "<what> not found: <name>"
  std::function<std::vector<Item>(const State&, const session::Snapshot&)> items;
};

std::vector<Item> none(const State&, const session::Snapshot&) { return {}; }

const Collection kCollections[] = {
    {"entrypoints", "entry point", [](const State& s, const session::Snapshot&) { return entry_point_items(s.stat); }},
    {"tcp/routers", "router", [](const State&, const session::Snapshot& snap) { return router_items(snap); }},
    {"tcp/services", "service", [](const State&, const session::Snapshot& snap) { return service_items(snap); }},
    {"tcp/middlewares", "middleware", [](const State&, const session::Snapshot& snap) { return middleware_items(snap); }},
    // snigate has no HTTP or UDP routing; tools that ask get empty lists.
    {"http/routers", "router", none},
    {"http/services", "service", none},
    {"http/middlewares", "middleware", none},
    {"udp/routers", "router", none},
    {"udp/services", "service", none},
};

// path is under /api/ (without that prefix) and not one of the collections.
std::optional<Response> single(std::string_view path, const Request& req, const State& state,
                               const session::Snapshot& snap) {
  if (path == "overview") return overview(state, snap);
  if (path == "rawdata") return rawdata(snap);
  if (path == "explain") return explain_answer(req, snap);
  return std::nullopt;
}

}  // namespace

std::optional<Response> api_get(const Request& req, const State& state) {
  std::string_view path = req.path;
  if (!path.starts_with("/api/")) return std::nullopt;
  path.remove_prefix(5);
  if (path == "version") return version(state);
  if (path == "connections") return connections_answer(req, state);
  if (path == "refusals") return refusals_answer(req);
  const Collection* found = nullptr;
  for (const Collection& c : kCollections)
    if (path == c.path || (path.starts_with(c.path) && path.substr(c.path.size()).starts_with("/"))) found = &c;
  if (!found && path != "overview" && path != "rawdata" && path != "explain") return std::nullopt;
  const std::shared_ptr<const session::Snapshot> snap = state.snapshot ? state.snapshot() : nullptr;
  if (!snap) return error_response(503, "no configuration is serving yet");
  if (!found) return single(path, req, state, *snap);
  if (path == found->path) return list_response(req, found->items(state, *snap));
  return item_response(found->items(state, *snap), path.substr(found->path.size() + 1), found->what);
}

}  // namespace snigate::admin
