#pragma once
// snigate's etcd v3 client, over etcd's JSON gateway with libcurl
// (docs/architecture.md says why not gRPC). Endpoints are tried in order; with
// a username, every request carries a token from /v3/auth/authenticate; with
// tls, every endpoint is reached over https.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "kv/range_result.hpp"

namespace snigate::kv {

// One consistent read of every key under prefix, trying the endpoints in order
// (each within timeout). nullopt with error naming each endpoint tried.
std::optional<RangeResult> read_prefix(const config::EtcdProvider& opts, const std::string& prefix,
                                       std::chrono::milliseconds timeout, std::string& error);

// Writes pairs, in transactions of up to 100 operations (etcd's default limit
// is 128), in the order of kv/write_order.hpp (keys under opts.root_key).
bool put_pairs(const config::EtcdProvider& opts, const config::KvPairs& pairs, std::string& error);
// Deletes every key under prefix.
bool delete_prefix(const config::EtcdProvider& opts, const std::string& prefix, std::string& error);
// Writes pairs, then deletes `remove` (keys), in transactions as put_pairs does.
bool write_changes(const config::EtcdProvider& opts, const config::KvPairs& pairs,
                   const std::vector<std::string>& remove, std::string& error);

// Calls on_update from its own thread with the whole current state under prefix:
//  - after each full read (at start when `initial` is not given, and after
//    reconnecting when the revision it would resume from was compacted), with
//    changed empty;
//  - after each watch response that changed something, with the keys that
//    changed (put or deleted).
// On a lost connection it keeps the state, reconnects with backoff (100 ms
// doubling to 5 s, with jitter) trying the endpoints in turn, and resumes the
// watch from the last revision seen + 1 (a compacted revision: a full read).
// An exception from on_update is logged and the watch goes on. The destructor
// stops the thread within about a second.
using OnUpdate = std::function<void(const config::KvPairs& all, std::int64_t revision,
                                    const std::vector<std::string>& changed)>;

struct WatchLoop;

class EtcdWatcher {
 public:
  // initial: watch from its revision + 1. provider: whose watch /metrics
  // shows it as (snigate_provider_*); empty for a watch that is no provider's.
  EtcdWatcher(config::EtcdProvider opts, std::string prefix, OnUpdate on_update,
              std::optional<RangeResult> initial = std::nullopt, std::string provider = "etcd");
  ~EtcdWatcher();
  EtcdWatcher(const EtcdWatcher&) = delete;
  EtcdWatcher& operator=(const EtcdWatcher&) = delete;

 private:
  std::unique_ptr<WatchLoop> loop_;
  std::thread thread_;
};

}  // namespace snigate::kv
