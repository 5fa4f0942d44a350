#pragma once
// The running gateway: workers with their listeners, the current Snapshot,
// reload on SIGHUP or a changed file, drain on SIGTERM.
#include <string>

#include "config/config.hpp"

namespace snigate::session {

// Serves cfg (already loaded without errors) until SIGTERM/SIGINT. config_path
// is empty for the built-in default (nothing to reload). Returns the exit code.
int run(config::Loaded cfg, const std::string& config_path);

}  // namespace snigate::session
