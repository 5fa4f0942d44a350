#include "session/proxy_in.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "net/deadline.hpp"
#include "observe/log_throttle.hpp"
#include "rule/ip_range.hpp"
#include "session/sniff.hpp"

namespace snigate::session {

using net::awaitable;
namespace proxy = wire::proxy;

namespace {

bool trusted(const EntryRoutes& entry, const IpAddress& peer) {
  return entry.ep.proxy_protocol->insecure ||
         std::ranges::any_of(entry.proxy_trusted, [&](const rule::IpRange& r) { return rule::contains(r, peer); });
}

struct Peeked {
  proxy::Parsed parsed;
  bool closed = false;
  bool timed_out = false;
};

// Makes the socket readable for the event loop only once `bytes` are in (or
// the peer closed), so waiting for the rest of a split header cannot wake
// for the bytes already there.
void wake_at(net::tcp::socket& sock, std::size_t bytes) {
  const int n = static_cast<int>(bytes);
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVLOWAT, &n, sizeof n);
}

// Peeks at the first bytes until they decide (a header, none, a bad one), the
// peer closes or the deadline passes. Nothing is consumed.
awaitable<Peeked> peek_header(net::tcp::socket& sock, net::Clock::time_point deadline, proxy::Header& h) {
  Peeked out;
  std::vector<std::uint8_t> buf(proxy::kMaxV2);
  bool waited = false;
  for (;;) {  // each round waits for new bytes, all within the deadline
    const ssize_t n = ::recv(sock.native_handle(), buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      out.closed = true;
      break;
    }
    const std::size_t have = n > 0 ? static_cast<std::size_t>(n) : 0;
    out.parsed = proxy::parse(std::span(buf.data(), have), h);
    if (out.parsed.status != proxy::Status::need_more) break;
    wake_at(sock, have + out.parsed.need);
    waited = true;
    net::SocketDeadline timer(sock, left(deadline));
    auto [ec] = co_await sock.async_wait(net::tcp::socket::wait_read, net::nothrow);
    co_await timer.disarm();
    if (timer.fired() || (ec && ec != asio::error::operation_aborted)) {
      out.timed_out = timer.fired();
      out.closed = !timer.fired();
      break;
    }
  }
  if (waited) wake_at(sock, 1);  // the default again, for the driver's reads
  co_return out;
}

// Takes exactly the header's bytes off the socket; they were peeked, so they
// are there.
bool consume(net::tcp::socket& sock, std::size_t length) {
  std::vector<std::uint8_t> sink(length);
  const ssize_t n = ::recv(sock.native_handle(), sink.data(), length, MSG_DONTWAIT);
  return n == static_cast<ssize_t>(length);
}

void warn_untrusted(const Conn& c, const proxy::Header& h) {
  static observe::LogThrottle throttle(std::chrono::seconds(1));
  std::uint64_t held_back = 0;
  if (!throttle.pass(observe::LogThrottle::Clock::now(), held_back)) return;
  spdlog::warn("{}: entry point {}: PROXY v{} header from a peer not in proxyProtocol.trustedIPs ignored (it named "
               "client {}); the connection goes on as the peer's own; {} more such header(s) since the last such line",
               c.rec.client, c.entry.ep.name, h.version,
               h.has_addresses ? proxy::to_string(h.source) : std::string("none"), held_back);
}

// The client is the one the header names; the peer is kept for the log.
void believe(Conn& c, const proxy::Header& h) {
  c.rec.peer = c.rec.client;
  if (!h.has_addresses) return;  // LOCAL, UNKNOWN: the proxy's own connection
  c.facts.client_ip = IpAddress::from_bytes(h.source.ip);
  c.client_port = h.source.port;
  c.client_dst = h.destination;
  c.rec.client = c.facts.client_ip->with_port(h.source.port);
}

Refusal bad_header(std::string why) {
  return {Cause::bad_request, "bad_proxy_header", std::move(why), "", spdlog::level::warn};
}

}  // namespace

awaitable<Refused> take_proxy_header(Conn& c) {
  const config::EntryPoint& ep = c.entry.ep;
  // The header must be in by firstByteTimeout (and within clientHelloTimeout).
  const net::Clock::time_point deadline = std::min(net::Clock::now() + ep.first_byte_timeout, c.hello_deadline);
  switch (co_await wait_first_byte(c.client.sock, left(deadline))) {
    case FirstByte::arrived: break;
    case FirstByte::closed: co_return client_gone("the client closed before sending anything");
    case FirstByte::silent: co_return std::nullopt;  // a server-first client, connected directly
  }
  proxy::Header h;
  const Peeked p = co_await peek_header(c.client.sock, deadline, h);
  if (p.closed) co_return client_gone("the client closed in its PROXY protocol header");
  if (p.timed_out)
    co_return bad_header(fmt::format("PROXY protocol header incomplete after firstByteTimeout ({} ms)",
                                     ep.first_byte_timeout.count()));
  switch (p.parsed.status) {
    case proxy::Status::not_proxy: co_return std::nullopt;  // the client's own bytes: a direct client
    case proxy::Status::bad: co_return bad_header(p.parsed.error);
    case proxy::Status::need_more:  // peek_header returns need_more only with closed or timed_out
    case proxy::Status::complete: break;
  }
  if (!consume(c.client.sock, h.length)) co_return client_gone("the PROXY protocol header could not be read");
  if (trusted(c.entry, *c.facts.client_ip)) believe(c, h);
  else warn_untrusted(c, h);
  co_return std::nullopt;
}

}  // namespace snigate::session
