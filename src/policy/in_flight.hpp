#pragma once
// inFlightConn's counts: open connections per client IP, shared by every
// worker thread. The map is split in shards, each with its own small lock,
// so workers admitting different clients rarely wait for each other; an IP
// whose count drops to 0 is removed, so the map holds only open connections.
#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "policy/ip_key.hpp"

namespace snigate::policy {

class InFlightCounts {
 public:
  static constexpr std::size_t kShards = 64;

  // Takes a slot for ip when fewer than `amount` are taken.
  bool acquire(const IpAddress& ip, int amount);
  void release(const IpAddress& ip);

  int count(const IpAddress& ip) const;  // open connections of ip
  std::size_t tracked() const;           // IPs with at least one

 private:
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<IpKey, int, IpKeyHash> counts;
  };
  Shard& shard(const IpKey& k) { return shards_[IpKeyHash{}(k) % kShards]; }
  const Shard& shard(const IpKey& k) const { return shards_[IpKeyHash{}(k) % kShards]; }
  std::array<Shard, kShards> shards_;
};

// One taken slot; gives it back when destroyed. Holds the counts, so a slot
// taken before a reload is given back to the same counts after it.
class InFlightTicket {
 public:
  InFlightTicket(std::shared_ptr<InFlightCounts> counts, const IpAddress& ip) : counts_(std::move(counts)), ip_(ip) {}
  InFlightTicket(InFlightTicket&& o) noexcept = default;
  InFlightTicket& operator=(InFlightTicket&& o) noexcept;
  InFlightTicket(const InFlightTicket&) = delete;
  InFlightTicket& operator=(const InFlightTicket&) = delete;
  ~InFlightTicket();

 private:
  std::shared_ptr<InFlightCounts> counts_;
  IpAddress ip_;
};

// A ticket for ip, or nothing when its `amount` slots are all taken.
std::optional<InFlightTicket> take_slot(const std::shared_ptr<InFlightCounts>& counts, const IpAddress& ip,
                                        int amount);

}  // namespace snigate::policy
