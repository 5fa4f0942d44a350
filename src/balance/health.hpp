#pragma once
// The health of one server, as the active check and the passive count see
// it, and the transitions between states. Pure: the clock is a parameter, so
// the state machine is tested without sockets or waiting. One ServerHealth is
// shared by every worker and the checker thread (atomics), and by successive
// Snapshots while the server and its check stay the same (health_for).
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace snigate::balance {

using Nanos = std::int64_t;  // steady clock, nanoseconds since its epoch
Nanos steady_now();

struct PassivePolicy {
  int failures = 3;                    // in a row; 0: passive health off
  config::Duration downtime{10'000};  // skipped this long, then one connection tries it
};

struct ServerHealth {
  std::atomic<bool> checked_up{true};   // the active check's verdict (up until a probe fails)
  std::atomic<bool> checked{false};     // a probe has run
  std::atomic<int> failures{0};         // connections that failed in a row
  std::atomic<Nanos> out_until{0};      // passive: skipped until then; 0: in rotation

  std::string reason() const;           // why the last probe failed ("" after a pass)
  void set_reason(std::string_view why);
  std::string dial_error() const;       // what the last failed connection got
  void set_dial_error(std::string_view error);

 private:
  mutable std::mutex reason_mutex_;
  std::string reason_;
  std::string dial_error_;
};

enum class Change { none, down, up };

// A probe's result (why empty: passed). down: it was up and failed; up: it
// passed after the check or passive health had the server out (a pass ends
// a passive downtime too).
Change record_check(ServerHealth& h, std::string_view why);

// A connection may try the server: the check has not marked it down and it
// is not sitting out a passive downtime. When the downtime is over, the first
// caller takes the one trial (the others see it out for another downtime
// until that trial's record_dial says how it went).
bool admits(ServerHealth& h, const PassivePolicy& p, Nanos now);
// The same answer without taking the trial: for counting and for explain.
bool looks_usable(const ServerHealth& h, Nanos now);

// A connection attempt's outcome (error: empty on success). down: the failures reached the policy's
// count (or a trial failed after a downtime); up: a success after the server
// was out.
Change record_dial(ServerHealth& h, const PassivePolicy& p, std::string_view error, Nanos now);

// The ServerHealth for key (service, address and check), shared with any
// Snapshot that still uses it; a new one (up) when none does.
std::shared_ptr<ServerHealth> health_for(const std::string& key);

}  // namespace snigate::balance
