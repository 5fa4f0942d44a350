#pragma once
// Copy buffers for relays, kept per worker thread like pipes: a direction
// holds one only while bytes are in flight, so an idle connection holds none
// and the pool stays as small as the busy directions.
#include <cstdint>
#include <memory>
#include <vector>

namespace snigate::net {

// Four TLS records' plaintext: a TLS source hands over what one read-ahead
// recv brought in one piece (a plain source reads less: see relay.cpp).
inline constexpr std::size_t kCopyBuffer = 64 * 1024;

struct BufferPool {
  using Buffer = std::unique_ptr<std::uint8_t[]>;  // kCopyBuffer bytes
  std::vector<Buffer> idle;
  std::size_t max_idle = 16;

  Buffer take();
  void give(Buffer b);

  static BufferPool& this_thread();
};

}  // namespace snigate::net
