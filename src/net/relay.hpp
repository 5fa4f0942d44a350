#pragma once
// Joins two connected sockets until both directions end. Plain to plain goes
// through splice(2) and never touches user space; a TLS side is copied through
// a buffer. One direction's EOF is passed on as a half-close.
//
// The relay is not a coroutine: an established connection spends most of its
// life here, idle, and a stack of suspended coroutine frames per connection
// costs several kilobytes. start_relay() takes both connections over into one
// small object driven by completion handlers and returns at once, so the
// journey that set the connection up can end and free its frames.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "net/asio.hpp"
#include "net/tls_stream.hpp"

namespace snigate::net {

struct RelayLeg {
  tcp::socket sock;
  std::unique_ptr<TlsStream> tls;  // null: plain TCP; else made on sock
};

struct RelayLimits {
  Duration idle{3'600'000};            // no byte in either direction for this long: close both; 0: no limit
  Duration termination_delay{100};     // after one side's EOF, the other may send this long; < 0: no limit
};

enum class RelayEnd { closed, idle_timeout, termination_delay, reset };

struct RelayResult {
  std::uint64_t up = 0;    // client to server
  std::uint64_t down = 0;  // server to client
  RelayEnd end = RelayEnd::closed;
  std::string detail;      // for reset: which side and why
  std::uint64_t spliced = 0;  // of up + down, bytes moved through a pipe (never copied to user space)
};

// Sees what the client sends before the server does, on a protocol that needs
// to (a MySQL session's KILL translation): it may rewrite bytes, or hold an
// incomplete part back until the next read completes it. A relay without one
// moves bytes untouched (and may splice them).
struct UpFilter {
  virtual ~UpFilter() = default;
  // chunk: bytes just read from the client. Returns the bytes to send the
  // server now: chunk itself, or the filter's own buffer, which stays valid
  // until the next call.
  virtual std::span<const std::uint8_t> pass(std::span<const std::uint8_t> chunk) = 0;
};

// Called once, on the sockets' executor, when both directions have ended:
// after the server side is closed and before the client side is.
using RelayDone = std::function<void(const RelayResult&)>;

struct Relay;

// A look at a running relay's byte counts, for the API's list of open
// connections. Read it only on the relay's executor; once the relay has
// ended, progress() returns false.
class RelayWatch {
 public:
  RelayWatch() = default;
  explicit RelayWatch(std::weak_ptr<const Relay> r) : relay_(std::move(r)) {}
  bool progress(std::uint64_t& up, std::uint64_t& down) const;

 private:
  std::weak_ptr<const Relay> relay_;
};

// Takes both connections over and returns once the first reads have been
// tried; everything else happens in completion handlers on the sockets'
// executor. up_filter: see UpFilter; null for a byte-for-byte relay.
// watch: if given, set to a watch on the relay (before its first read).
void start_relay(RelayLeg client, RelayLeg server, RelayLimits limits, RelayDone done,
                 std::unique_ptr<UpFilter> up_filter = nullptr, RelayWatch* watch = nullptr);

const char* to_string(RelayEnd e);

}  // namespace snigate::net
