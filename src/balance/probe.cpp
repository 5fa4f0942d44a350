#include "balance/probe.hpp"

#include <fmt/format.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "net/deadline.hpp"
#include "net/dial.hpp"
#include "net/tls_stream.hpp"
#include "wire/mysql.hpp"
#include "wire/postgres.hpp"

namespace snigate::balance {

using net::awaitable;

namespace {

// An answer that has not settled the check by this size never will.
constexpr std::size_t kMaxAnswer = 64 * 1024;

std::string printable(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 40); ++i)
    out += bytes[i] >= 0x20 && bytes[i] < 0x7f ? std::string(1, static_cast<char>(bytes[i]))
                                                : fmt::format("\\x{:02x}", bytes[i]);
  return out + (bytes.size() > 40 ? "..." : "");
}

Answer judge_mysql(std::span<const std::uint8_t> got, std::string& why) {
  namespace my = wire::mysql;
  my::Packet packet;
  const my::Status split = my::split_packet(got, packet);
  if (split == my::Status::need_more) return Answer::need_more;
  if (split != my::Status::complete) {
    why = fmt::format("not a MySQL packet: {}", printable(got));
    return Answer::fail;
  }
  my::InitialHandshake hs;
  std::string error;
  const my::Status parsed = my::parse_initial_handshake(packet.payload, hs, &error);
  if (parsed == my::Status::complete) return Answer::pass;
  why = parsed == my::Status::is_error ? fmt::format("MySQL refuses connections: {}", error)
                                       : fmt::format("not a MySQL greeting: {}", error);
  return Answer::fail;
}

Answer judge_postgres(std::span<const std::uint8_t> got, std::string& why) {
  if (got.empty()) return Answer::need_more;
  if (got[0] == 'S' || got[0] == 'N') return Answer::pass;
  why = got[0] == 'E' ? fmt::format("PostgreSQL answered the SSLRequest with an error: {}", printable(got))
                      : fmt::format("not a PostgreSQL answer to SSLRequest: {}", printable(got));
  return Answer::fail;
}

}  // namespace

bool reads_answer(const HealthCheck& check) {
  return check.protocol != CheckProtocol::tcp || !check.expect.empty();
}

Answer judge_answer(const HealthCheck& check, std::span<const std::uint8_t> got, std::string& why) {
  if (check.protocol == CheckProtocol::mysql) return judge_mysql(got, why);
  if (check.protocol == CheckProtocol::postgres) return judge_postgres(got, why);
  const std::string_view text(reinterpret_cast<const char*>(got.data()), got.size());
  if (text.find(check.expect) != std::string_view::npos) return Answer::pass;
  if (got.size() < kMaxAnswer) return Answer::need_more;
  why = fmt::format("{} bytes without \"{}\"", got.size(), check.expect);
  return Answer::fail;
}

namespace {

tls::SslPtr probe_ssl(const tls::BackendTls& bt, const std::string& host) {
  const std::string& name = bt.server_name.empty() ? host : bt.server_name;
  std::error_code not_ip;
  (void)asio::ip::make_address(name, not_ip);
  tls::SslPtr ssl(SSL_new(bt.ctx.get()));
  SSL_set_connect_state(ssl.get());
  if (not_ip) SSL_set_tlsext_host_name(ssl.get(), name.c_str());
  if (bt.verify) {
    if (!not_ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str());
    else SSL_set1_host(ssl.get(), name.c_str());
  }
  return ssl;
}

// The connected part of a probe: handshake, send, read. Empty: passed.
awaitable<std::string> converse(const ProbeTarget& t, net::tcp::socket& sock) {
  std::unique_ptr<net::TlsStream> tls;
  if (t.check.tls) {
    if (!t.backend_tls) co_return "no TLS settings for the check";
    tls = std::make_unique<net::TlsStream>(sock, probe_ssl(*t.backend_tls, t.at.host));
    if (!co_await tls->handshake(sock)) co_return fmt::format("TLS handshake failed: {}", tls->error());
  }
  std::vector<std::uint8_t> out(t.check.send.begin(), t.check.send.end());
  if (t.check.protocol == CheckProtocol::postgres) out = wire::postgres::encode_ssl_request();
  std::error_code ec;
  if (!out.empty()) {
    if (tls) co_await tls->write_all(sock, out, ec);
    else std::tie(ec, std::ignore) = co_await asio::async_write(sock, asio::buffer(out), net::nothrow);
    if (ec) co_return fmt::format("send: {}", ec.message());
  }
  if (!reads_answer(t.check)) co_return "";
  std::vector<std::uint8_t> got;
  std::array<std::uint8_t, 4096> buf{};
  std::string why;
  for (;;) {  // ends: each turn reads at least a byte, and judge_answer settles by kMaxAnswer
    const Answer a = judge_answer(t.check, got, why);
    if (a == Answer::pass) co_return "";
    if (a == Answer::fail) co_return why;
    std::size_t n = 0;
    if (tls) n = co_await tls->read_some(sock, buf, ec);
    else std::tie(ec, n) = co_await sock.async_read_some(asio::buffer(buf), net::nothrow);
    if (ec) co_return fmt::format("{} after {} byte(s) of answer{}", ec == asio::error::eof ? "closed" : ec.message(),
                                  got.size(), got.empty() ? "" : ": " + printable(got));
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(n));
  }
}

}  // namespace

awaitable<std::string> probe(const ProbeTarget& t) {
  net::tcp::socket sock(co_await asio::this_coro::executor);
  const auto start = net::Clock::now();
  const net::Dialed d = co_await net::dial(sock, t.at, t.check.timeout);
  if (d.ec)
    co_return d.ec == asio::error::timed_out ? fmt::format("connect: no answer within {} ms", t.check.timeout.count())
                                             : fmt::format("connect: {}", d.ec.message());
  const auto spent = std::chrono::duration_cast<net::Duration>(net::Clock::now() - start);
  const auto left = std::max(net::Duration(1), t.check.timeout - spent);
  net::SocketDeadline deadline(sock, left);
  std::string why = co_await converse(t, sock);
  co_await deadline.disarm();
  if (deadline.fired()) why = fmt::format("no answer within {} ms ({})", t.check.timeout.count(), why);
  co_return why;
}

}  // namespace snigate::balance
