#pragma once
// A resolver's ACME state kept in etcd (acme.etcdKey, a snigate extension),
// so that a fleet orders each certificate once and every instance serves it.
// Under the key prefix P:
//   P/state                          the resolver's entry in Traefik's acme.json layout
//   P/lock                           the instance ordering now, on a lease (kLockTtl)
//   P/challenge/tls-alpn-01/<name>   a pending challenge's key authorization, on the lock's lease
//   P/challenge/http-01/<token>      the same for HTTP-01
// Every instance watches P: a new state is served at once, and a pending
// challenge is answered by whichever instance the CA reaches.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "acme/storage.hpp"
#include "config/config.hpp"

namespace snigate::kv {
class EtcdWatcher;
}

namespace snigate::acme {

class FleetStore {
 public:
  // Reads P/state (error: etcd unreachable, or the value is not a resolver entry).
  FleetStore(const config::EtcdProvider& etcd, std::string prefix, std::string resolver);
  ~FleetStore();
  FleetStore(const FleetStore&) = delete;
  FleetStore& operator=(const FleetStore&) = delete;

  bool read(ResolverState& out, std::string& error);
  // Watches P from now on: on_state with each new P/state; challenges posted
  // to and withdrawn from board().
  void watch(std::function<void(const ResolverState&)> on_state);

  // Takes P/lock for this instance unless another holds it (holder says who).
  bool try_lock(std::string& holder, std::string& error);
  void unlock();  // revokes the lease: the lock and any challenge left go with it
  bool save(const ResolverState& state, std::string& error);
  bool post_challenge(const std::string& type, const std::string& id, const std::string& key_authorization);
  void withdraw_challenge(const std::string& type, const std::string& id);

  const std::string& instance() const { return instance_; }

 private:
  config::EtcdProvider etcd_;
  std::string prefix_, resolver_, instance_;
  std::string lease_;  // while locked
  std::unique_ptr<kv::EtcdWatcher> watcher_;
};

}  // namespace snigate::acme
