#pragma once
// A compiled service: its servers and how to reach them. Built once per
// Snapshot, shared by every worker; only the round-robin counter and the
// passthrough flag change at run time.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "net/dial.hpp"
#include "tls/contexts.hpp"

namespace snigate::balance {

struct Server {
  std::string address;  // as configured, for logs
  net::HostPort at;
  bool tls = false;     // re-encrypt to it
};

struct Service {
  std::string name;
  bool whoami = false;  // whoami@internal
  std::vector<Server> servers;
  std::shared_ptr<const tls::BackendTls> backend_tls;  // from the serversTransport
  config::Duration dial_timeout{30'000};
  config::Duration termination_delay{100};
  config::Duration keep_alive{15'000};  // dialKeepAlive on server connections; zero: off
  int proxy_protocol = 0;  // PROXY protocol version sent to its servers (1 or 2); 0: none
  mutable std::atomic<std::uint32_t> next{0};  // round robin, shared by all workers
  // Set once a PostgreSQL client reached this service through passthrough:
  // its servers then get the CancelRequests snigate cannot attribute (the
  // client's key is inside TLS snigate does not see).
  mutable std::atomic<bool> postgres_passthrough{false};
};

}  // namespace snigate::balance
