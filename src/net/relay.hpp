#pragma once
// Joins two connected sockets until both directions end. Plain to plain goes
// through splice(2) and never touches user space; a TLS side is copied through
// a fixed buffer. One direction's EOF is passed on as a half-close.
#include <cstdint>
#include <string>

#include "net/asio.hpp"
#include "net/tls_stream.hpp"

namespace snigate::net {

struct RelaySide {
  tcp::socket& sock;
  TlsStream* tls = nullptr;  // null: plain TCP
};

struct RelayLimits {
  Duration idle{180'000};              // no byte in either direction for this long: close both
  Duration termination_delay{100};     // after one side's EOF, the other may send this long; < 0: no limit
};

enum class RelayEnd { closed, idle_timeout, termination_delay, reset };

struct RelayResult {
  std::uint64_t up = 0;    // client to server
  std::uint64_t down = 0;  // server to client
  RelayEnd end = RelayEnd::closed;
  std::string detail;      // for reset: which side and why
};

awaitable<RelayResult> relay(RelaySide client, RelaySide server, RelayLimits limits);

const char* to_string(RelayEnd e);

}  // namespace snigate::net
