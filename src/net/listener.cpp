#include "net/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/adopt.hpp"
#include "net/dial.hpp"
#include "net/keep_alive.hpp"
#include "observe/log_throttle.hpp"

namespace snigate::net {

bool parse_listen_address(std::string_view text, tcp::endpoint& out, std::string& error) {
  HostPort hp;
  const bool any = text.starts_with(':');
  if (!HostPort::parse(any ? "0.0.0.0" + std::string(text) : std::string(text), hp)) {
    error = fmt::format("\"{}\" is not host:port", text);
    return false;
  }
  if (any) {
    out = tcp::endpoint(asio::ip::address_v6::any(), hp.port);
    return true;
  }
  std::error_code ec;
  auto addr = asio::ip::make_address(hp.host == "localhost" ? "127.0.0.1" : hp.host, ec);
  if (ec) {
    error = "\"" + hp.host + "\" is not an IP address (listen addresses are not resolved)";
    return false;
  }
  out = tcp::endpoint(addr, hp.port);
  return true;
}

tcp::acceptor open_listener(asio::io_context& io, const tcp::endpoint& at, PortShare share, std::error_code& ec) {
  tcp::acceptor acc(io);
  acc.open(at.protocol(), ec);
  if (ec) return acc;
  acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (at.address().is_v6() && at.address().is_unspecified()) acc.set_option(asio::ip::v6_only(false), ec);
  const int one = 1;
  if (share == PortShare::join) ::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  ::setsockopt(acc.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Inherited too: client connections get keep-alive at no cost per connection.
  set_keep_alive(acc.native_handle(), kDefaultKeepAlive);
  acc.bind(at, ec);
  // Linux checks SO_REUSEPORT against the sockets already bound when a socket
  // binds, and forms the group at listen(): set after bind, it lets only the
  // sockets that come later in.
  if (!ec && share == PortShare::first && ::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    ec = std::error_code(errno, std::system_category());
  if (!ec) acc.listen(4096, ec);
  if (!ec) acc.native_non_blocking(true, ec);  // accept_next calls accept4 itself
  return acc;
}

tcp::acceptor share_listener(asio::io_context& io, tcp::acceptor& first, std::error_code& ec) {
  tcp::acceptor acc(io);
  const tcp::endpoint at = first.local_endpoint(ec);
  if (ec) return acc;
  const int fd = ::fcntl(first.native_handle(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    ec = std::error_code(errno, std::system_category());
    return acc;
  }
  acc.assign(at.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    return acc;
  }
  acc.native_non_blocking(true, ec);
  return acc;
}

void defer_accept(tcp::acceptor& acc, bool on) {
  const int secs = on ? kDeferAcceptSeconds : 0;
  ::setsockopt(acc.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs);
}

std::error_code accept_now(tcp::acceptor& acc, tcp::socket& sock, tcp::endpoint& peer) {
  for (;;) {
    tcp::endpoint from;
    socklen_t len = static_cast<socklen_t>(from.capacity());
    const int fd = ::accept4(acc.native_handle(), from.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      from.resize(len);
      std::error_code ec;
      sock = adopt(acc.get_executor(), from.protocol(), fd, ec);
      peer = from;
      return ec;
    }
    const int err = errno;
    if (err == EINTR || err == ECONNABORTED) continue;
    if (err == EAGAIN) return asio::error::would_block;
    return std::error_code(err, std::system_category());
  }
}

awaitable<std::error_code> accept_next(tcp::acceptor& acc, tcp::socket& sock, tcp::endpoint& peer) {
  for (;;) {
    auto [ec] = co_await acc.async_wait(tcp::acceptor::wait_read, nothrow);
    if (ec) co_return ec;
    ec = accept_now(acc, sock, peer);
    if (ec != asio::error::would_block) co_return ec;
  }
}

awaitable<void> pause_after_accept_error(std::string_view entry_point, std::error_code ec) {
  static observe::LogThrottle throttle(std::chrono::seconds(1));
  std::uint64_t held_back = 0;
  if (throttle.pass(observe::LogThrottle::Clock::now(), held_back))
    spdlog::error("entry point {}: accept: {}; {} more accept error(s) since the last such line; each pauses its "
                  "listener for {} ms, and the connection waits in the backlog",
                  entry_point, ec.message(), held_back, kAcceptErrorPause.count());
  co_await sleep_for(kAcceptErrorPause);
}

}  // namespace snigate::net
