#pragma once
// The active health checks of the whole process: one thread with its own
// io_context probes every checked server once per interval (with jitter),
// whatever the number of workers, and writes the verdict into the server's
// ServerHealth, which connections read. A reload hands it the new servers:
// a server whose service, address and check are unchanged keeps its probe
// and state; the probes of servers no longer configured stop.
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "balance/probe.hpp"
#include "balance/service.hpp"

namespace snigate::balance {

struct ProbeTask;

// Every server of these services that has a healthCheck, as probe targets.
std::vector<ProbeTarget> probe_targets(const std::map<std::string, std::unique_ptr<Service>>& services);

class HealthChecker {
 public:
  HealthChecker();
  ~HealthChecker();  // stops the probes and the thread
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // The servers to check from now on (any thread).
  void track(std::vector<ProbeTarget> targets);

 private:
  void apply(std::vector<ProbeTarget> targets);  // on the checker's thread

  asio::io_context io_{1};
  std::map<const ServerHealth*, std::shared_ptr<ProbeTask>> tasks_;  // checker thread only
  std::thread thread_;
};

}  // namespace snigate::balance
