#pragma once
// rateLimit's buckets: one token bucket per client IP. A bucket holds at most
// `burst` tokens and refills `average` per `period`; a new connection takes
// one. The time is passed in, so tests need no clock.
//
// Memory is bounded: a bucket that has refilled to full is the same as no
// bucket, so it is dropped when its shard is full; if the shard is still
// full, the bucket used longest ago goes (that client starts again with a
// full bucket). At most max_tracked IPs per middleware are tracked.
#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <unordered_map>

#include "config/config.hpp"
#include "policy/ip_key.hpp"

namespace snigate::policy {

struct RateSpec {
  int average = 0;  // tokens per period; 0: no limit
  int burst = 1;    // bucket size
  config::Duration period{1'000};
};

class RateBuckets {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kShards = 64;
  static constexpr std::size_t kDefaultMaxTracked = 65'536;

  explicit RateBuckets(std::size_t max_tracked = kDefaultMaxTracked)
      : per_shard_(std::max<std::size_t>(1, max_tracked / kShards)) {}

  // One new connection from ip at `now`: true when its bucket had a token.
  bool take(const IpAddress& ip, const RateSpec& spec, Clock::time_point now);

  std::size_t tracked() const;  // IPs with a bucket

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;  // when tokens was computed
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<IpKey, Bucket, IpKeyHash> buckets;
  };
  static void make_room(Shard& s, const RateSpec& spec, Clock::time_point now);

  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace snigate::policy
