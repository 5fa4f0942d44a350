#include "net/dial.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>

#include "net/adopt.hpp"
#include "net/deadline.hpp"
#include "net/keep_alive.hpp"

namespace snigate::net {

bool HostPort::parse(std::string_view text, HostPort& out) {
  std::string_view host, port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;  // bare IPv6 needs brackets
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535) return false;
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(p);
  std::error_code not_ip;
  const auto ip = asio::ip::make_address(out.host, not_ip);
  out.ip = not_ip ? std::nullopt : std::optional(ip);
  return true;
}

std::string HostPort::to_string() const {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                             : host + ":" + std::to_string(port);
}

void prepare(tcp::socket& sock) {
  std::error_code ignored;
  sock.set_option(tcp::no_delay(true), ignored);
  sock.native_non_blocking(true, ignored);
}

namespace {

std::error_code last_error() { return {errno, std::system_category()}; }

// Waits until sock is writable (a connect finished), at most timeout: a
// SocketDeadline, not a within() parallel group, on every connection.
// timed_out when the deadline passed.
awaitable<std::error_code> writable_within(tcp::socket& sock, Duration timeout) {
  SocketDeadline deadline(sock, timeout);
  auto [ec] = co_await sock.async_wait(tcp::socket::wait_write, nothrow);
  co_await deadline.disarm();
  co_return deadline.fired() ? std::error_code(asio::error::timed_out) : ec;
}

// Whether a connect that said EINPROGRESS has finished all the same. To a
// server on the same host it usually has: the kernel handles the SYN-ACK
// before connect() returns, though too late for its return value. Linux
// gives a peer name only once the handshake is through (not while SYN_SENT,
// nor after a refusal), so one getpeername replaces a timer, an epoll re-arm,
// a wakeup and the SO_ERROR check.
bool established(int fd) {
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0;
}

// The same question asked by sending first: a send on a socket still in
// SYN_SENT says EAGAIN, one after a refusal gives the refusal, and one on an
// established socket sends, so the bytes go out without a syscall spent on
// asking. nullopt: not established yet.
std::optional<Dialed> established_sending(int fd, std::span<const std::uint8_t> first) {
  const ssize_t n = ::send(fd, first.data(), first.size(), MSG_NOSIGNAL);
  if (n >= 0) return Dialed{{}, static_cast<std::size_t>(n)};
  if (errno == EAGAIN || errno == EINTR) return std::nullopt;
  return Dialed{last_error(), 0};
}

// Asio's async_connect costs an ioctl (O_NONBLOCK), and a poll() besides the
// SO_ERROR check when it completes; a socket opened non-blocking with
// TCP_NODELAY already set needs neither, nor prepare() afterwards.
awaitable<Dialed> connect_to(tcp::socket& sock, const tcp::endpoint& to, Duration timeout,
                             std::span<const std::uint8_t> first, Duration keep_alive) {
  const int fd = ::socket(to.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) co_return Dialed{last_error()};
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (keep_alive.count() > 0) set_keep_alive(fd, keep_alive);
  std::error_code ec;
  sock = adopt(sock.get_executor(), to.protocol(), fd, ec);
  if (ec) co_return Dialed{ec};
  if (::connect(fd, to.data(), static_cast<socklen_t>(to.size())) == 0) co_return Dialed{};
  if (errno != EINPROGRESS) co_return Dialed{last_error()};
  if (!first.empty()) {
    if (auto done = established_sending(fd, first)) co_return *done;
  } else if (established(fd)) {
    co_return Dialed{};
  }
  const std::error_code wec = co_await writable_within(sock, timeout);
  if (wec) co_return Dialed{wec};
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) co_return Dialed{last_error()};
  co_return Dialed{std::error_code(err, std::system_category())};
}

awaitable<std::error_code> resolve_and_connect(tcp::socket& sock, const HostPort& to, Duration keep_alive) {
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [rec, results] = co_await resolver.async_resolve(to.host, std::to_string(to.port), nothrow);
  if (rec) co_return rec;
  auto [cec, ep] = co_await asio::async_connect(sock, results, nothrow);
  if (!cec) prepare(sock);
  if (!cec && keep_alive.count() > 0) set_keep_alive(sock.native_handle(), keep_alive);
  co_return cec;
}

}  // namespace

awaitable<Dialed> dial(tcp::socket& sock, const HostPort& to, Duration timeout, std::span<const std::uint8_t> first,
                       Duration keep_alive) {
  Dialed d;
  const auto addr = to.ip ? *to.ip : asio::ip::make_address(to.host, d.ec);
  if (!d.ec) {
    const tcp::endpoint at(addr, to.port);
    d = co_await connect_to(sock, at, timeout, first, keep_alive);
  } else {
    auto r = co_await within(timeout, resolve_and_connect(sock, to, keep_alive));
    d.ec = r ? *r : std::error_code(asio::error::timed_out);
  }
  std::error_code ignored;
  if (d.ec) sock.close(ignored);
  co_return d;
}

}  // namespace snigate::net
