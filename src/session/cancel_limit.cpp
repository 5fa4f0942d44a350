#include "session/cancel_limit.hpp"

#include <algorithm>
#include <string_view>

namespace snigate::session {

namespace {

std::array<std::uint8_t, 16> source_key(const IpAddress& a) {
  std::array<std::uint8_t, 16> k = a.bytes;
  if (!a.v4) std::fill(k.begin() + 8, k.end(), std::uint8_t{0});  // the /64
  return k;
}

}  // namespace

std::size_t CancelLimiter::KeyHash::operator()(const std::array<std::uint8_t, 16>& k) const noexcept {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
}

CancelLimiter::Permit& CancelLimiter::Permit::operator=(Permit&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = o.owner_;
    o.owner_ = nullptr;
  }
  return *this;
}

void CancelLimiter::Permit::release() {
  if (!owner_) return;
  std::lock_guard lock(owner_->mu_);
  --owner_->in_flight_;
  owner_ = nullptr;
}

// A bucket that has had time to fill up again says nothing a new one would
// not: forgetting it bounds the table without favouring anyone.
void CancelLimiter::forget_idle(Clock::time_point now) {
  const auto refill = std::chrono::duration<double>(limits_.per_source_burst / limits_.per_source_rate);
  std::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.at >= refill; });
}

bool CancelLimiter::take_token(const IpAddress& source, Clock::time_point now) {
  const auto key = source_key(source);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limits_.sources) forget_idle(now);
    // Still full: every remembered source is busy. A new one is then held
    // only to the in-flight limit, which bounds all of them together.
    if (buckets_.size() >= limits_.sources) return true;
    it = buckets_.emplace(key, Bucket{limits_.per_source_burst, now}).first;
  }
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.at).count();
  b.tokens = std::min(limits_.per_source_burst, b.tokens + std::max(0.0, elapsed) * limits_.per_source_rate);
  b.at = std::max(b.at, now);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

CancelVerdict CancelLimiter::admit(const IpAddress& source, bool fan_out, Clock::time_point now, Permit& permit) {
  {
    std::lock_guard lock(mu_);
    if (in_flight_ >= limits_.in_flight) return CancelVerdict::too_many_in_flight;
    if (fan_out && !take_token(source, now)) return CancelVerdict::source_over_rate;
    ++in_flight_;
  }
  permit = Permit(this);  // outside the lock: a permit it replaces takes the lock to let go
  return CancelVerdict::admitted;
}

std::size_t CancelLimiter::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

std::size_t CancelLimiter::sources() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

CancelLimiter& cancel_limiter() {
  static CancelLimiter limiter;
  return limiter;
}

}  // namespace snigate::session
