#pragma once
// Smooth weighted round robin (the scheme nginx uses for upstream weights):
// each pick adds every eligible child's weight to its running score, takes
// the child with the highest score and lowers that score by the sum of the
// weights. Weights 5, 1, 1 give a a b a c a a: the heavy child's turns are
// spread out instead of coming in a burst.
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace snigate::balance {

inline constexpr std::size_t kNoPick = static_cast<std::size_t>(-1);

// One step on scores (same size as weights). eligible: children that may be
// picked (empty: all); the others neither gain nor lose. kNoPick when no
// eligible child has a weight above zero.
std::size_t smooth_wrr_pick(std::span<const int> weights, std::span<std::int64_t> scores,
                            std::span<const bool> eligible = {});

// The scores of one weighted service, shared by every worker. The step is a
// few additions per child, so a mutex held for it costs nothing measurable
// next to a connect.
struct SmoothWrr {
  std::size_t pick(std::span<const int> weights, std::span<const bool> eligible);
  // What pick() would return, without moving the scores (for explain).
  std::size_t peek(std::span<const int> weights, std::span<const bool> eligible) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::int64_t> scores_;
};

}  // namespace snigate::balance
