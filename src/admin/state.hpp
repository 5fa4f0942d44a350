#pragma once
// What the admin handlers read. Everything is taken at the time of the
// request: the current Snapshot (immutable), the live counters, the open
// connections gathered from the workers. Nothing here blocks a worker.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "observe/connections.hpp"
#include "session/snapshot.hpp"

namespace snigate::admin {

struct State {
  config::Static stat;  // the static configuration (fixed for the process)
  std::string version;
  std::chrono::system_clock::time_point started;
  std::function<std::shared_ptr<const session::Snapshot>()> snapshot;  // the one now serving
  // At most limit open connections, oldest first, and how many are open in all.
  std::function<std::vector<observe::OpenConnection>(std::size_t limit, std::size_t& total)> connections;
  std::function<observe::LiveByRouter()> live_by_router;  // the open connections summed per router
  std::function<bool()> draining;                         // SIGTERM received: /ping answers 503
};

}  // namespace snigate::admin
