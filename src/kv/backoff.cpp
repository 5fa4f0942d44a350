#include "kv/backoff.hpp"

#include <algorithm>

namespace snigate::kv {

std::chrono::milliseconds Backoff::next() {
  const auto now = step;
  step = std::min(most, step * 2);
  std::uniform_int_distribution<long> jitter(now.count() / 2, now.count());
  return std::chrono::milliseconds(jitter(rng));
}

}  // namespace snigate::kv
