#pragma once
// A compiled service: its servers and how to reach them, or for a weighted
// service its children. Built once per Snapshot, shared by every worker; at
// run time only the round-robin counter, the weighted scores, the servers'
// health and the passthrough flag change.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balance/health.hpp"
#include "balance/wrr.hpp"
#include "config/config.hpp"
#include "net/dial.hpp"
#include "tls/contexts.hpp"

namespace snigate::balance {

struct Service;

struct Server {
  std::string address;  // as configured, for logs
  net::HostPort at;
  bool tls = false;     // re-encrypt to it
  std::shared_ptr<ServerHealth> health = std::make_shared<ServerHealth>();
  // The load balancer it belongs to, whose transport settings (dialTimeout,
  // TLS, terminationDelay) apply: for a weighted service, one of its children.
  const Service* lb = nullptr;
};

enum class CheckProtocol { tcp, mysql, postgres };

// loadBalancer.healthCheck, compiled.
struct HealthCheck {
  std::uint16_t port = 0;  // 0: the server's own
  std::string send;
  std::string expect;
  config::Duration interval{30'000};
  config::Duration unhealthy_interval{30'000};
  config::Duration timeout{5'000};
  bool tls = false;
  CheckProtocol protocol = CheckProtocol::tcp;

  std::string describe() const;  // "tcp connect", "mysql greeting on port 3307", ...: logs, explain, state key
};

struct Service {
  std::string name;
  bool whoami = false;  // whoami@internal
  std::vector<Server> servers;
  std::optional<HealthCheck> health_check;
  std::string health_check_transport;  // a TLS check's serversTransport (part of its state's key)
  PassivePolicy passive;
  // A weighted service: its children (services of the same Snapshot) and
  // their weights; servers is then empty.
  std::vector<const Service*> children;
  std::vector<int> weights;
  bool skip_down_children = false;  // weighted.healthCheck
  mutable SmoothWrr wrr;
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

// Every server a connection to svc may reach: its own, or its children's.
template <class F>
void for_each_server(const Service& svc, F&& f) {
  for (const Server& s : svc.servers) f(s);
  for (const Service* child : svc.children) for_each_server(*child, f);
}

}  // namespace snigate::balance
