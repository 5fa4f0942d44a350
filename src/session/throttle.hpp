#pragma once
// Coalesces a provider's changes into reloads (providersThrottleDuration): the
// first change is applied at once; changes within `every` of the last apply
// wait for its end and are applied together, with the state they left.
#include <chrono>
#include <functional>

#include "net/asio.hpp"

namespace snigate::session {

class Throttle {
 public:
  Throttle(asio::io_context& io, std::chrono::milliseconds every, std::function<void()> apply);
  // Something changed: apply now, or once the current interval ends. Call on io's thread.
  void poke();

 private:
  asio::steady_timer timer_;
  std::chrono::milliseconds every_;
  std::function<void()> apply_;
  std::chrono::steady_clock::time_point last_{};
  bool pending_ = false;
};

}  // namespace snigate::session
