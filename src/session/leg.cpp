#include "session/leg.hpp"

#include "session/conn.hpp"

namespace snigate::session {

using net::awaitable;

awaitable<std::error_code> read_some(Leg& leg, std::size_t max, std::vector<std::uint8_t>& into) {
  const std::size_t have = into.size();
  into.resize(have + max);
  std::error_code ec;
  std::size_t n = 0;
  if (leg.tls) {
    n = co_await leg.tls->read_some(leg.sock, {into.data() + have, max}, ec);
  } else {
    auto [rec, rn] = co_await leg.sock.async_read_some(asio::buffer(into.data() + have, max), net::nothrow);
    ec = rec;
    n = rn;
  }
  into.resize(have + n);
  if (!ec && n == 0) ec = asio::error::eof;
  co_return ec;
}

std::string read_error(const std::error_code& ec) {
  return ec && ec != asio::error::eof ? ec.message() : "closed the connection";
}

awaitable<Got> read_framed(Leg& leg, net::Clock::time_point deadline, const Framing& take, std::string& why) {
  auto read = [&]() -> awaitable<Got> {
    for (;;) {
      const Framed f = take(leg.buf, why);
      if (f.state == Framed::whole) co_return Got::done;
      if (f.state == Framed::bad) co_return Got::bad;
      if (const std::error_code ec = co_await read_some(leg, f.want, leg.buf)) {
        why = read_error(ec);
        co_return Got::closed;
      }
    }
  };
  auto r = co_await net::within(left(deadline), read());
  if (!r) {
    why = "sent nothing in time";
    co_return Got::timeout;
  }
  co_return *r;
}

awaitable<bool> write_bytes(Leg& leg, std::span<const std::uint8_t> bytes, net::Clock::time_point deadline) {
  auto write = [&]() -> awaitable<bool> {
    std::error_code ec;
    if (leg.tls) {
      co_await leg.tls->write_all(leg.sock, bytes, ec);
    } else {
      auto [wec, n] = co_await asio::async_write(leg.sock, asio::buffer(bytes.data(), bytes.size()), net::nothrow);
      ec = wec;
    }
    co_return !ec;
  };
  auto r = co_await net::within(left(deadline), write());
  co_return r && *r;
}

}  // namespace snigate::session
