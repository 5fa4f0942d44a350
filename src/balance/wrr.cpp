#include "balance/wrr.hpp"

namespace snigate::balance {

std::size_t smooth_wrr_pick(std::span<const int> weights, std::span<std::int64_t> scores,
                            std::span<const bool> eligible) {
  std::int64_t total = 0;
  std::size_t best = kNoPick;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0 || (!eligible.empty() && !eligible[i])) continue;
    scores[i] += weights[i];
    total += weights[i];
    if (best == kNoPick || scores[i] > scores[best]) best = i;
  }
  if (best != kNoPick) scores[best] -= total;
  return best;
}

std::size_t SmoothWrr::pick(std::span<const int> weights, std::span<const bool> eligible) {
  std::lock_guard lock(mutex_);
  if (scores_.size() != weights.size()) scores_.assign(weights.size(), 0);
  return smooth_wrr_pick(weights, scores_, eligible);
}

std::size_t SmoothWrr::peek(std::span<const int> weights, std::span<const bool> eligible) const {
  std::vector<std::int64_t> copy;
  {
    std::lock_guard lock(mutex_);
    copy = scores_;
  }
  if (copy.size() != weights.size()) copy.assign(weights.size(), 0);
  return smooth_wrr_pick(weights, copy, eligible);
}

}  // namespace snigate::balance
