#include "policy/rate_limit.hpp"

#include <algorithm>

namespace snigate::policy {
namespace {

// The bucket's tokens at `now`: what it had plus the refill since, at most burst.
double tokens_at(double tokens, RateBuckets::Clock::time_point last, const RateSpec& spec,
                 RateBuckets::Clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(std::max(now - last, RateBuckets::Clock::duration(0))).count();
  const double per_second = spec.average / std::chrono::duration<double>(spec.period).count();
  return std::min(static_cast<double>(spec.burst), tokens + elapsed * per_second);
}

}  // namespace

void RateBuckets::make_room(Shard& s, const RateSpec& spec, Clock::time_point now) {
  std::erase_if(s.buckets, [&](const auto& e) {
    return tokens_at(e.second.tokens, e.second.last, spec, now) >= spec.burst;
  });
  if (s.buckets.empty()) return;
  // Still full: the bucket used longest ago goes.
  auto oldest = s.buckets.begin();
  for (auto it = s.buckets.begin(); it != s.buckets.end(); ++it)
    if (it->second.last < oldest->second.last) oldest = it;
  s.buckets.erase(oldest);
}

bool RateBuckets::take(const IpAddress& ip, const RateSpec& spec, Clock::time_point now) {
  if (spec.average <= 0) return true;
  const IpKey k = key_of(ip);
  Shard& s = shards_[IpKeyHash{}(k) % kShards];
  std::lock_guard lock(s.mu);
  auto it = s.buckets.find(k);
  if (it == s.buckets.end()) {
    if (s.buckets.size() >= per_shard_) make_room(s, spec, now);
    it = s.buckets.emplace(k, Bucket{static_cast<double>(spec.burst), now}).first;
  }
  Bucket& b = it->second;
  b.tokens = tokens_at(b.tokens, b.last, spec, now);
  b.last = std::max(b.last, now);
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

std::size_t RateBuckets::tracked() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.buckets.size();
  }
  return n;
}

}  // namespace snigate::policy
