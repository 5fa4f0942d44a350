#include "observe/log_throttle.hpp"

namespace snigate::observe {

bool LogThrottle::pass(Clock::time_point now, std::uint64_t& held_back) {
  std::lock_guard lock(mu_);
  if (started_ && now < next_) {
    ++held_;
    return false;
  }
  started_ = true;
  next_ = now + interval_;
  held_back = held_;
  held_ = 0;
  return true;
}

}  // namespace snigate::observe
