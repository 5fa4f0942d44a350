#include <fmt/format.h>

#include "explain/steps.hpp"

namespace snigate::explain {
namespace {

// The entry points that route TCP: an admin one (API, /metrics, /ping)
// serves HTTP and takes no client a router could.
std::vector<const session::EntryRoutes*> routing_entries(const session::Snapshot& snap) {
  std::vector<const session::EntryRoutes*> out;
  for (const auto& [name, e] : snap.entries)
    if (!e.ep.admin) out.push_back(&e);
  return out;
}

std::string names(const std::vector<const session::EntryRoutes*>& entries) {
  std::string known;
  for (const auto* e : entries) known += (known.empty() ? "" : ", ") + e->ep.name;
  return known;
}

}  // namespace

const session::EntryRoutes* pick_entry(const session::Snapshot& snap, const Query& q, std::string& error) {
  const auto routing = routing_entries(snap);
  if (q.entry_point.empty()) {
    if (routing.size() == 1) return routing.front();
    error = fmt::format("--entrypoint is needed: this configuration has {} entry points ({})", routing.size(),
                        names(routing));
    return nullptr;
  }
  const session::EntryRoutes* entry = snap.entry(q.entry_point);
  if (!entry)
    error = fmt::format("no entry point named \"{}\" (entry points: {})", q.entry_point, names(routing));
  else if (entry->ep.admin)
    error = fmt::format("entry point {} serves the API, /metrics or /ping over HTTP and routes no client (entry "
                        "points that do: {})", q.entry_point, names(routing));
  return entry && !entry->ep.admin ? entry : nullptr;
}

}  // namespace snigate::explain
