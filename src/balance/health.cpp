#include "balance/health.hpp"

#include <chrono>
#include <map>

namespace snigate::balance {

Nanos steady_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ServerHealth::reason() const {
  std::lock_guard lock(reason_mutex_);
  return reason_;
}

void ServerHealth::set_reason(std::string_view why) {
  std::lock_guard lock(reason_mutex_);
  reason_.assign(why);
}

std::string ServerHealth::dial_error() const {
  std::lock_guard lock(reason_mutex_);
  return dial_error_;
}

void ServerHealth::set_dial_error(std::string_view error) {
  std::lock_guard lock(reason_mutex_);
  dial_error_.assign(error);
}

Change record_check(ServerHealth& h, std::string_view why) {
  const bool pass = why.empty();
  h.set_reason(why);
  h.checked.store(true, std::memory_order_relaxed);
  const bool was_up = h.checked_up.exchange(pass, std::memory_order_acq_rel);
  if (!pass) return was_up ? Change::down : Change::none;
  // A passing probe is fresher news than the connections that failed before
  // it: it also ends a passive downtime.
  h.failures.store(0, std::memory_order_relaxed);
  const bool was_out = h.out_until.exchange(0, std::memory_order_acq_rel) != 0;
  return !was_up || was_out ? Change::up : Change::none;
}

bool admits(ServerHealth& h, const PassivePolicy& p, Nanos now) {
  if (!h.checked_up.load(std::memory_order_relaxed)) return false;
  Nanos until = h.out_until.load(std::memory_order_relaxed);
  if (until == 0) return true;
  if (until > now) return false;
  // The downtime is over: whoever moves out_until forward makes the trial.
  const Nanos next = now + std::chrono::duration_cast<std::chrono::nanoseconds>(p.downtime).count();
  return h.out_until.compare_exchange_strong(until, next, std::memory_order_acq_rel);
}

bool looks_usable(const ServerHealth& h, Nanos now) {
  if (!h.checked_up.load(std::memory_order_relaxed)) return false;
  const Nanos until = h.out_until.load(std::memory_order_relaxed);
  return until == 0 || until <= now;
}

Change record_dial(ServerHealth& h, const PassivePolicy& p, std::string_view error, Nanos now) {
  if (error.empty()) {
    if (h.failures.load(std::memory_order_relaxed) != 0) h.failures.store(0, std::memory_order_relaxed);
    if (h.out_until.load(std::memory_order_relaxed) == 0) return Change::none;
    return h.out_until.exchange(0, std::memory_order_acq_rel) != 0 ? Change::up : Change::none;
  }
  if (p.failures <= 0) return Change::none;
  h.set_dial_error(error);
  const int n = h.failures.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (n < p.failures) return Change::none;
  const Nanos until = now + std::chrono::duration_cast<std::chrono::nanoseconds>(p.downtime).count();
  // Out already (a failed trial, or several workers failing at once): a new
  // downtime, but no new DOWN in the log.
  return h.out_until.exchange(until, std::memory_order_acq_rel) == 0 ? Change::down : Change::none;
}

std::shared_ptr<ServerHealth> health_for(const std::string& key) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<ServerHealth>> known;
  std::lock_guard lock(mutex);
  std::erase_if(known, [](const auto& e) { return e.second.expired(); });
  if (auto it = known.find(key); it != known.end())
    if (auto h = it->second.lock()) return h;
  auto h = std::make_shared<ServerHealth>();
  known[key] = h;
  return h;
}

}  // namespace snigate::balance
