#pragma once
// The running gateway: workers with their listeners, the current Snapshot,
// reload on SIGHUP or a changed file, drain on SIGTERM.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "observe/connections.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {

// What the admin side may ask of the running gateway, from its own thread.
struct RuntimeView {
  std::function<std::shared_ptr<const Snapshot>()> snapshot;  // the one now serving
  // Gathered from the workers (each answers on its own thread): at most
  // limit open connections, oldest first, and how many there are.
  std::function<std::vector<observe::OpenConnection>(std::size_t limit, std::size_t& total)> connections;
  std::function<observe::LiveByRouter()> live_by_router;
  std::function<bool()> draining;
};

// Starts the admin side once the gateway's listeners are open; what it
// returns lives until the gateway has stopped. nullptr with error set: the
// gateway does not start.
using StartAdmin = std::function<std::shared_ptr<void>(const RuntimeView& view, std::string& error)>;

// What a KV provider (etcd) reports: every key under its root now, the
// store's revision, and how many keys changed since its last report.
struct KvUpdate {
  config::KvPairs pairs;
  std::int64_t revision = 0;
  std::size_t changed = 0;
};
// May be called from any thread; the gateway applies updates on its main
// thread, at most one reload per providers.providersThrottleDuration.
using KvSink = std::function<void(KvUpdate)>;
// Starts the providers that push their changes; what it returns lives until
// the gateway has stopped.
using StartProviders = std::function<std::shared_ptr<void>(KvSink sink)>;

// Serves snap (compiled from cfg) until SIGTERM/SIGINT. config_path is empty
// for the built-in default (nothing to reload). Returns the exit code.
int run(config::Loaded cfg, std::shared_ptr<const Snapshot> snap, const std::string& config_path,
        StartAdmin start_admin = {}, StartProviders start_providers = {});

}  // namespace snigate::session
