#pragma once
// Reconnect delays: 100 ms doubling to 5 s, each drawn between half and all of
// the step, so that a fleet that lost etcd together does not come back in step.
#include <chrono>
#include <random>

namespace snigate::kv {

struct Backoff {
  std::chrono::milliseconds first{100};
  std::chrono::milliseconds most{5'000};
  std::chrono::milliseconds step = first;
  std::minstd_rand rng{std::random_device{}()};

  std::chrono::milliseconds next();  // the delay to wait now; doubles the step
  void reset() { step = first; }
};

}  // namespace snigate::kv
