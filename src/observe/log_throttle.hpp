#pragma once
// A cause that can repeat for every connection (accept failing for want of
// descriptors, cancel requests dropped by a limit) would flood the log with
// one line each. A throttle lets one line through per interval and counts the
// ones it held back, so the next line can say how many there were.
#include <chrono>
#include <cstdint>
#include <mutex>

namespace snigate::observe {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

  // true: write the line now; held_back is then how many lines were held
  // back since the last one written. false: counted, not to be written.
  bool pass(Clock::time_point now, std::uint64_t& held_back);

 private:
  std::mutex mu_;  // any worker thread may report
  Clock::duration interval_;
  Clock::time_point next_{};
  std::uint64_t held_ = 0;
  bool started_ = false;
};

}  // namespace snigate::observe
