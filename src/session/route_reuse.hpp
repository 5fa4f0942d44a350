#pragma once
// A reload's loan, both ways: what the serving snapshot lends the loader
// (which routers it may leave unread), and the serving Routes a router left
// unread takes over in the new snapshot (config/fingerprint.hpp).
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "config/fingerprint.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {

// For config::load_dynamic; its names point into `snap`, which must outlive it.
config::Reuse reuse_of(const Snapshot& snap);

// The serving snapshot's Routes by router name; entry null: unattached.
struct LentRoute {
  const std::string* entry = nullptr;
  const Route* route = nullptr;
};
using LentRoutes = std::unordered_multimap<std::string_view, LentRoute>;
LentRoutes lent_routes(const Snapshot* previous);

// Copies router `name`'s serving Routes into `snap` (the same entry points),
// with snap's own services, middlewares and TLS options of the same names.
// False, with an error, when one of them is missing (the loan was wrong).
bool take_over(const std::string& name, const LentRoutes& lent, Snapshot& snap, std::vector<config::Error>& errors);

// A router a warning names gets no fingerprint, so that the next reload reads
// it again and warns again. A warning about the routers as a whole stops all
// reuse from `source`.
void untrust_warned(Snapshot& snap, config::Dynamic& source, const std::vector<config::Error>& warnings);

}  // namespace snigate::session
