#pragma once
// The ACME thread: serves what each resolver's storage holds from the start,
// orders what the routers want and storage lacks, renews what nears its end,
// and backs off after failures. A handshake never waits on it: until a name
// has its certificate it gets the default one, and the log says why.
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"

namespace snigate::acme {

// One certificate a router wants: its names (the first is domain.main).
struct Wanted {
  std::string resolver;
  std::vector<std::string> names;
  std::string router;  // the first router that asked, for the log
};

// What the running Manager does about each wanted certificate, for /metrics.
struct JobState {
  std::string resolver;
  std::string main;
  int failures = 0;  // in a row; 0 after a success
};

struct ResolverRun;
struct Job;

class Manager {
 public:
  // Reads each resolver's storage and serves its certificates before the
  // first client is accepted. A storage file that cannot be read is logged
  // and treated as empty, and never overwritten. With etcdKey the state is
  // read from etcd and watched there.
  explicit Manager(const config::Static& stat);
  ~Manager();  // stops; an exchange in progress ends within about a second
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // The certificates a new configuration's routers want. One already stored
  // is renewed when due; one not stored is ordered now; one no longer wanted
  // is not renewed (its stored certificate is still served).
  void want(const std::vector<Wanted>& wanted);

  // For explain and the log: what the resolvers are doing about name.
  std::string status(const std::string& name) const;
  std::vector<JobState> jobs() const;

 private:
  void run();
  void process(Job& job);
  bool fleet_turn(ResolverRun& r, Job& job, std::string& error);
  void failed(Job& job, const std::string& error, std::chrono::seconds retry_after);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<bool> stop_flag_{false};
  std::map<std::string, std::unique_ptr<ResolverRun>> resolvers_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;  // by resolver and names
  std::thread thread_;
};

std::vector<JobState> running_jobs();

// The running Manager's status(name); running false when none runs (the
// command line's explain).
std::string running_status(const std::string& name, bool& running);

}  // namespace snigate::acme
