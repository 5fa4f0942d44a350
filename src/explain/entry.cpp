#include <fmt/format.h>

#include "explain/steps.hpp"

namespace snigate::explain {
namespace {

std::string entry_point_names(const session::Snapshot& snap) {
  std::string known;
  for (const auto& [name, e] : snap.entries) known += (known.empty() ? "" : ", ") + name;
  return known;
}

}  // namespace

const session::EntryRoutes* pick_entry(const session::Snapshot& snap, const Query& q, std::string& error) {
  const bool only_one = q.entry_point.empty() && snap.entries.size() == 1;
  const session::EntryRoutes* entry = only_one ? &snap.entries.begin()->second : snap.entry(q.entry_point);
  if (!entry && q.entry_point.empty())
    error = fmt::format("--entrypoint is needed: this configuration has {} entry points ({})", snap.entries.size(),
                        entry_point_names(snap));
  else if (!entry)
    error = fmt::format("no entry point named \"{}\" (entry points: {})", q.entry_point, entry_point_names(snap));
  return entry;
}

}  // namespace snigate::explain
