#pragma once
// Reading what the client says first, within deadlines: whether it speaks at
// all, and if it starts TLS, its whole ClientHello.
#include <cstdint>
#include <string>
#include <vector>

#include "net/asio.hpp"
#include "wire/client_hello.hpp"

namespace snigate::session {

enum class FirstByte { arrived, silent, closed };

// Peeks, so the byte stays in the socket for whoever reads next.
net::awaitable<FirstByte> wait_first_byte(net::tcp::socket& sock, net::Duration timeout);

struct Sniffed {
  wire::HelloStatus status = wire::HelloStatus::need_more;
  bool timed_out = false;   // status need_more when the deadline passed
  bool closed = false;      // the client closed before the hello was complete
  std::vector<std::uint8_t> bytes;    // everything read from the client, in order
  std::vector<std::uint8_t> scratch;  // hello fragments joined, when it spans records
  wire::ClientHello hello;
  std::string error;
};

net::awaitable<void> read_client_hello(net::tcp::socket& sock, net::Duration timeout, Sniffed& out);

}  // namespace snigate::session
