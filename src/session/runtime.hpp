#pragma once
// The running gateway: workers with their listeners, the current Snapshot,
// reload on SIGHUP or a changed file, drain on SIGTERM.
#include <string>

#include <memory>

#include "config/config.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {

// Serves snap (compiled from cfg) until SIGTERM/SIGINT. config_path is empty
// for the built-in default (nothing to reload). Returns the exit code.
int run(config::Loaded cfg, std::shared_ptr<const Snapshot> snap, const std::string& config_path);

}  // namespace snigate::session
