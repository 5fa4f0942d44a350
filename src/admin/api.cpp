#include "admin/api.hpp"

#include <malloc.h>

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
    {"tcp/middlewares", "middleware",
     [](const State&, const session::Snapshot& snap) { return middleware_items(snap); }},
    // snigate has no HTTP or UDP routing; tools that ask get empty lists.
    {"http/routers", "router", none},
    {"http/services", "service", none},
    {"http/middlewares", "middleware", none},
    {"udp/routers", "router", none},
    {"udp/services", "service", none},
};

// The collection path is, or one of its items; nullptr when none.
const Collection* collection_of(std::string_view path) {
  for (const Collection& c : kCollections)
    if (path == c.path || (path.starts_with(c.path) && path.substr(c.path.size()).starts_with("/"))) return &c;
  return nullptr;
}

Response from_collection(const Collection& c, std::string_view path, const Request& req, const State& state,
                         const session::Snapshot& snap) {
  if (path == c.path) return list_response(req, c.items(state, snap));
  return item_response(c.items(state, snap), path.substr(c.path.size() + 1), c.what);
}

Response answer(const Collection* c, std::string_view path, const Request& req, const State& state,
                const session::Snapshot& snap) {
  if (c) return from_collection(*c, path, req, state, snap);
  if (path == "overview") return overview(state, snap);
  if (path == "rawdata") return rawdata(snap);
  return explain_answer(req, snap);
}

// Past this many routers an answer's scratch memory (an item per router) is
// large enough to hand back to the system at once, or each large answer
// would leave the process that much bigger.
constexpr std::size_t kTrimFrom = 10'000;

// The answers read from the Snapshot now serving; path is without "/api/".
std::optional<Response> from_snapshot(std::string_view path, const Request& req, const State& state) {
  const Collection* c = collection_of(path);
  if (!c && path != "overview" && path != "rawdata" && path != "explain") return std::nullopt;
  const std::shared_ptr<const session::Snapshot> snap = state.snapshot ? state.snapshot() : nullptr;
  if (!snap) return error_response(503, "no configuration is serving yet");
  Response r = answer(c, path, req, state, *snap);
  if (snap->router_count >= kTrimFrom) malloc_trim(0);
  return r;
}

}  // namespace

std::optional<Response> api_get(const Request& req, const State& state) {
  std::string_view path = req.path;
  if (!path.starts_with("/api/")) return std::nullopt;
  path.remove_prefix(5);
  if (path == "version") return version(state);
  if (path == "connections") return connections_answer(req, state);
  if (path == "refusals") return refusals_answer(req);
  return from_snapshot(path, req, state);
}

}  // namespace snigate::admin
