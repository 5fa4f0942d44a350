#include "session/route_reuse.hpp"

#include <fmt/core.h>

#include <unordered_set>

namespace snigate::session {

namespace {

template <class Fn>
void for_each_route(Snapshot& snap, Fn&& fn) {
  for (auto& [ep, entry] : snap.entries)
    for (Route& r : entry.routes) fn(r);
  for (Route& r : snap.unattached) fn(r);
}

// The same service, middlewares and options, as snap's own objects.
bool relink(Route& route, const Snapshot& snap) {
  if (route.service) {
    const auto it = snap.services.find(route.service->name);
    if (it == snap.services.end()) return false;
    route.service = it->second.get();
  }
  for (const policy::Middleware*& m : route.middlewares) {
    const auto it = snap.middlewares.find(m->name);
    if (it == snap.middlewares.end()) return false;
    m = it->second.get();
  }
  if (route.options) {
    const auto it = snap.options.find(route.options->name);
    if (it == snap.options.end()) return false;
    route.options = it->second;
  }
  return true;
}

// What a warning's path may name: "tcp.routers.a.b[0].c" -> "a", "a.b",
// "a.b[0]", "a.b[0].c" (a router's name may hold dots), each also as an etcd
// name (the walk names them before their suffix is added).
void add_candidates(std::string_view path, std::unordered_set<std::string>& out) {
  constexpr std::string_view prefix = "tcp.routers.";
  path.remove_prefix(prefix.size());
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '.' && path[i] != '[') continue;
    out.emplace(path.substr(0, i));
    out.emplace(fmt::format("{}@etcd", path.substr(0, i)));
  }
}

}  // namespace

config::Reuse reuse_of(const Snapshot& snap) {
  config::Reuse reuse;
  if (!snap.source || snap.source->context == 0) return reuse;
  reuse.context = snap.source->context;
  reuse.routers.reserve(snap.router_count);
  auto add = [&reuse](const Route& r) {
    if (r.fingerprint) reuse.routers.emplace(r.name, r.fingerprint);
  };
  for (const auto& [ep, entry] : snap.entries)
    for (const Route& r : entry.routes) add(r);
  for (const Route& r : snap.unattached) add(r);
  return reuse;
}

LentRoutes lent_routes(const Snapshot* previous) {
  LentRoutes lent;
  if (!previous) return lent;
  lent.reserve(previous->router_count);
  for (const auto& [ep, entry] : previous->entries)
    for (const Route& r : entry.routes) lent.emplace(r.name, LentRoute{&ep, &r});
  for (const Route& r : previous->unattached) lent.emplace(r.name, LentRoute{nullptr, &r});
  return lent;
}

bool take_over(const std::string& name, const LentRoutes& lent, Snapshot& snap, std::vector<config::Error>& errors) {
  const auto [first, last] = lent.equal_range(name);
  bool ok = first != last;
  for (auto it = first; ok && it != last; ++it) {
    Route route = *it->second.route;
    const auto entry = it->second.entry ? snap.entries.find(*it->second.entry) : snap.entries.end();
    ok = relink(route, snap) && (!it->second.entry || entry != snap.entries.end());
    if (!ok) break;
    if (it->second.entry) entry->second.routes.push_back(std::move(route));
    else snap.unattached.push_back(std::move(route));
  }
  if (!ok)
    errors.push_back(config::Error{config::Loc{}, "tcp.routers." + name,
                                   "internal error: the serving configuration cannot lend this unchanged router; "
                                   "a restart reads it afresh"});
  return ok;
}

void untrust_warned(Snapshot& snap, config::Dynamic& source, const std::vector<config::Error>& warnings) {
  std::unordered_set<std::string> named;
  for (const config::Error& w : warnings) {
    if (w.path == "tcp.routers") source.context = 0;
    else if (w.path.starts_with("tcp.routers.")) add_candidates(w.path, named);
  }
  if (named.empty()) return;
  for_each_route(snap, [&named](Route& r) {
    if (named.contains(r.name)) r.fingerprint = 0;
  });
}

}  // namespace snigate::session
