#pragma once
// Bounds on the work PostgreSQL cancel requests can make snigate do. A cancel
// that snigate cannot attribute goes to every passthrough server, one dial
// each, and the request needs no login: without a bound, any client could
// turn each of its connections into that many dials. Two limits:
// - per source: a token bucket of such fan-out cancels per client address
//   (IPv6 by /64, the block one host usually holds);
// - in total: cancels being forwarded at once, across the process, whether
//   they go to one server or to many.
// A plain structure with the clock passed in, so it is tested without time.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "rule/facts.hpp"

namespace snigate::session {

struct CancelLimits {
  double per_source_rate = 5;     // fan-out cancels a source may send per second, on average
  double per_source_burst = 10;   // and at once, after a quiet spell
  std::size_t in_flight = 64;     // cancels being forwarded at once, process-wide
  std::size_t sources = 4096;     // source addresses remembered
};

enum class CancelVerdict {
  admitted,
  source_over_rate,   // this source sent more fan-out cancels than its bucket allows
  too_many_in_flight  // the process is forwarding in_flight cancels already
};

class CancelLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Holds one of the in-flight places until destroyed.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& o) noexcept : owner_(o.owner_) { o.owner_ = nullptr; }
    Permit& operator=(Permit&& o) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { release(); }
    bool held() const { return owner_ != nullptr; }

   private:
    friend class CancelLimiter;
    explicit Permit(CancelLimiter* owner) : owner_(owner) {}
    void release();
    CancelLimiter* owner_ = nullptr;
  };

  explicit CancelLimiter(CancelLimits limits = {}) : limits_(limits) {}

  // fan_out: the cancel goes to every passthrough server (charged to the
  // source's bucket); otherwise to the one server that issued its key.
  // admitted: permit holds an in-flight place.
  CancelVerdict admit(const IpAddress& source, bool fan_out, Clock::time_point now, Permit& permit);

  std::size_t in_flight() const;
  std::size_t sources() const;
  const CancelLimits& limits() const { return limits_; }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at;
  };
  struct KeyHash {
    std::size_t operator()(const std::array<std::uint8_t, 16>& k) const noexcept;
  };
  bool take_token(const IpAddress& source, Clock::time_point now);
  void forget_idle(Clock::time_point now);

  CancelLimits limits_;
  mutable std::mutex mu_;  // any worker may get a cancel
  std::size_t in_flight_ = 0;
  std::unordered_map<std::array<std::uint8_t, 16>, Bucket, KeyHash> buckets_;
};

// The process's limiter, with the defaults of CancelLimits.
CancelLimiter& cancel_limiter();

}  // namespace snigate::session
