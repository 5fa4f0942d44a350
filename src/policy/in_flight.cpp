#include "policy/in_flight.hpp"

namespace snigate::policy {

bool InFlightCounts::acquire(const IpAddress& ip, int amount) {
  if (amount <= 0) return false;
  const IpKey k = key_of(ip);
  Shard& s = shard(k);
  std::lock_guard lock(s.mu);
  int& n = s.counts[k];
  if (n >= amount) return false;  // n > 0 here: the entry existed
  ++n;
  return true;
}

void InFlightCounts::release(const IpAddress& ip) {
  const IpKey k = key_of(ip);
  Shard& s = shard(k);
  std::lock_guard lock(s.mu);
  auto it = s.counts.find(k);
  if (it == s.counts.end()) return;
  if (--it->second <= 0) s.counts.erase(it);
}

int InFlightCounts::count(const IpAddress& ip) const {
  const IpKey k = key_of(ip);
  const Shard& s = shard(k);
  std::lock_guard lock(s.mu);
  auto it = s.counts.find(k);
  return it == s.counts.end() ? 0 : it->second;
}

std::size_t InFlightCounts::tracked() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.counts.size();
  }
  return n;
}

InFlightTicket& InFlightTicket::operator=(InFlightTicket&& o) noexcept {
  if (this != &o) {
    if (counts_) counts_->release(ip_);
    counts_ = std::move(o.counts_);
    ip_ = o.ip_;
  }
  return *this;
}

InFlightTicket::~InFlightTicket() {
  if (counts_) counts_->release(ip_);
}

std::optional<InFlightTicket> take_slot(const std::shared_ptr<InFlightCounts>& counts, const IpAddress& ip,
                                        int amount) {
  if (!counts->acquire(ip, amount)) return std::nullopt;
  return InFlightTicket(counts, ip);
}

}  // namespace snigate::policy
