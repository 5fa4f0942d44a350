#include "session/sniff.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>

namespace snigate::session {

using net::awaitable;
using net::nothrow;

awaitable<FirstByte> wait_first_byte(net::tcp::socket& sock, net::Duration timeout) {
  auto peek = [&sock]() -> awaitable<std::size_t> {
    std::uint8_t b;
    auto [ec, n] = co_await sock.async_receive(asio::buffer(&b, 1), net::tcp::socket::message_peek, nothrow);
    co_return ec ? 0 : n;
  };
  auto r = co_await net::within(timeout, peek());
  if (!r) co_return FirstByte::silent;
  co_return *r ? FirstByte::arrived : FirstByte::closed;
}

namespace {

// Most clients send the whole hello with their first segment, so it is
// usually in the socket already: read it without the event loop, a timer or
// a parallel group. true: decided (or closed); false: wait for more.
// The bytes land on the stack and go to the heap at their own size: a vector
// sized for the largest first read costs a 4 KB allocation, cleared, on
// every connection.
bool read_ready(net::tcp::socket& sock, Sniffed& out) {
  std::array<std::uint8_t, 4096> first;
  const ssize_t n = ::recv(sock.native_handle(), first.data(), first.size(), 0);
  const int err = errno;
  if (n > 0) out.bytes.assign(first.data(), first.data() + n);
  if (n < 0 && (err == EAGAIN || err == EINTR)) return false;
  if (n <= 0) {
    out.closed = true;
    return true;
  }
  out.status = wire::parse_client_hello(out.bytes, out.scratch, out.hello, &out.error);
  return out.status != wire::HelloStatus::need_more;
}

}  // namespace

awaitable<void> read_client_hello(net::tcp::socket& sock, net::Duration timeout, Sniffed& out) {
  if (read_ready(sock, out)) co_return;
  auto read_until_decided = [&]() -> awaitable<bool> {
    out.bytes.reserve(4096);
    for (;;) {
      if (out.bytes.size() == out.bytes.capacity())
        out.bytes.reserve(std::min(out.bytes.capacity() * 2, wire::kMaxClientHello + 16 * 1024));
      const std::size_t have = out.bytes.size();
      const std::size_t room = out.bytes.capacity() - have;
      if (room == 0) co_return true;  // cannot happen: the parser says too_large first
      out.bytes.resize(have + room);
      auto [ec, n] = co_await sock.async_read_some(asio::buffer(out.bytes.data() + have, room), nothrow);
      out.bytes.resize(have + n);
      if (ec || n == 0) {
        out.closed = true;
        co_return true;
      }
      out.status = wire::parse_client_hello(out.bytes, out.scratch, out.hello, &out.error);
      if (out.status != wire::HelloStatus::need_more) co_return true;
    }
  };
  auto done = co_await net::within(timeout, read_until_decided());
  out.timed_out = !done;
}

}  // namespace snigate::session
