#pragma once
// providers.etcd at start: one read so that the first snapshot already has
// etcd's routers, then the watcher that keeps the gateway up to date.
#include <memory>
#include <optional>

#include "config/config.hpp"
#include "kv/etcd.hpp"
#include "session/runtime.hpp"

namespace snigate::app {

// Reads etcd once (bounded) and, when its keys make a valid configuration
// with the files, puts them into cfg and snap. A failed read or invalid keys
// are logged and leave cfg as it was: the gateway starts with the files and
// the watcher applies etcd's next valid state. Returns what was read.
std::optional<kv::RangeResult> add_etcd_at_start(config::Loaded& cfg,
                                                 std::shared_ptr<const session::Snapshot>& snap);

// The watcher for the gateway (session::run's start_providers), resuming
// after `initial` when it was read.
session::StartProviders etcd_provider(const config::EtcdProvider& opts, std::optional<kv::RangeResult> initial);

// `snigate check` and `explain`: etcd's keys, read once; nullopt, with an
// error (required) or a warning printed, when etcd does not answer.
std::optional<config::KvPairs> read_etcd_for_check(const config::Static& stat, bool required);

}  // namespace snigate::app
