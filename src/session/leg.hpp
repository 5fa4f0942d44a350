#pragma once
// One leg of a connection while a database driver sets it up (the client's,
// or snigate's own to the server): a socket, TLS once started, and bytes read
// past the last whole message. Reads and writes have deadlines.
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "net/asio.hpp"
#include "net/tls_stream.hpp"

namespace snigate::session {

struct Leg {
  net::tcp::socket& sock;
  net::TlsStream* tls = nullptr;
  std::vector<std::uint8_t> buf;
};

// One read of at most max bytes, appended to into (through TLS when the leg
// has it). EOF is asio::error::eof.
net::awaitable<std::error_code> read_some(Leg& leg, std::size_t max, std::vector<std::uint8_t>& into);

// "closed the connection", or the error's own words.
std::string read_error(const std::error_code& ec);

net::awaitable<bool> write_bytes(Leg& leg, std::span<const std::uint8_t> bytes, net::Clock::time_point deadline);

}  // namespace snigate::session
