#pragma once
// Connecting to a backend server with a deadline.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "net/asio.hpp"

namespace snigate::net {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  // host as an address when it is one: parse() reads it once, not every dial.
  std::optional<asio::ip::address> ip;
  static bool parse(std::string_view text, HostPort& out);  // "h:p", "[v6]:p"
  std::string to_string() const;
};

struct Dialed {
  std::error_code ec;
  std::size_t sent = 0;  // how many of the first bytes went out with the connect
};

// Resolves (unless host is an address) and connects, trying each address,
// until the deadline. On failure returns the error and the socket is closed.
// first: bytes the caller sends as soon as the connection is up; to an
// address, dial sends what the socket takes at once (the rest, if any, is
// the caller's). keep_alive: TCP keep-alive interval (set_keep_alive); zero
// for none, which suits only short exchanges such as a cancel request.
awaitable<Dialed> dial(tcp::socket& sock, const HostPort& to, Duration timeout,
                       std::span<const std::uint8_t> first = {}, Duration keep_alive = Duration(0));

// Non-blocking, TCP_NODELAY: what every relayed socket wants. dial() and
// accept_now() give sockets that already are.
void prepare(tcp::socket& sock);

}  // namespace snigate::net
