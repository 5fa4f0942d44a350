#pragma once
// A client address as a hash key. IPv4 addresses are kept IPv4-mapped in
// IpAddress's bytes, so 192.0.2.1 and ::ffff:192.0.2.1 are one key.
#include <array>
#include <cstdint>
#include <cstring>

#include "rule/facts.hpp"

namespace snigate::policy {

using IpKey = std::array<std::uint8_t, 16>;

struct IpKeyHash {
  std::size_t operator()(const IpKey& k) const {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    std::memcpy(&hi, k.data(), 8);
    std::memcpy(&lo, k.data() + 8, 8);
    // Mixes both halves (splitmix64's finaliser): the low bits pick the shard.
    std::uint64_t x = hi * 0x9e3779b97f4a7c15ULL ^ lo;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return static_cast<std::size_t>(x);
  }
};

inline IpKey key_of(const IpAddress& ip) { return ip.bytes; }

}  // namespace snigate::policy
