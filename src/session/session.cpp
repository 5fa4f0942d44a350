#include "session/session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/deadline.hpp"
#include "net/dial.hpp"
#include "net/linger.hpp"
#include "net/relay.hpp"
#include "net/send_all.hpp"
#include "net/tls_stream.hpp"
#include "observe/log.hpp"
#include "session/backend.hpp"
#include "session/conn.hpp"
#include "session/mysql.hpp"
#include "session/postgres.hpp"
#include "session/refuse.hpp"
#include "session/sniff.hpp"
#include "session/whoami.hpp"

namespace snigate::session {

std::atomic<long> open_connections{0};

namespace {

using net::awaitable;
using net::tcp;

// Alert descriptions (RFC 8446 6.2).
constexpr std::uint8_t kDecodeError = 50;
constexpr std::uint8_t kInternalError = 80;
constexpr std::uint8_t kUnrecognizedName = 112;

// The end of every connection: the access-log line, and one fewer to drain.
void finish(observe::AccessRecord& rec) {
  if (rec.end.empty()) rec.end = "closed";
  observe::write_access(rec);
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("{} {} -> router {} service {} server {}: {} in, {} out, {}{}", rec.client,
                  observe::printable(rec.sni), rec.router, rec.service, rec.server, rec.bytes_in, rec.bytes_out,
                  rec.end, rec.detail.empty() ? "" : ": " + observe::printable(rec.detail));
  open_connections.fetch_sub(1, std::memory_order_relaxed);
}

awaitable<void> to_backend(Conn& c, const Route& r, std::vector<std::uint8_t> early) {
  const Service& svc = *r.service;
  net::TlsStream* client_tls = c.client_tls.get();
  c.rec.router = r.name;
  c.rec.service = svc.name;
  if (svc.whoami) {
    co_await serve_whoami(c.client, client_tls, std::move(early), c.rec);
    co_return;
  }
  tcp::socket server(c.client.get_executor());
  std::string why;
  std::size_t sent = 0;
  const Server* chosen = co_await connect_service(svc, server, why, early, &sent);
  std::unique_ptr<net::TlsStream> server_tls;
  if (chosen) c.rec.server = chosen->address;
  if (chosen && chosen->tls) server_tls = co_await start_backend_tls(svc, *chosen, server, c.sni, why);
  if (!chosen || (chosen->tls && !server_tls)) {
    refuse(c, chosen ? "backend_tls_failed" : "backend_unreachable",
           fmt::format("router {}: service {}: {}", r.name, svc.name, why));
    log_refusal(c, spdlog::level::warn);
    // A terminated client gets close_notify; a passthrough client, whose
    // handshake has not started, gets an alert.
    if (client_tls) co_await net::close_after_reply(c.client, client_tls);
    else if (c.facts.tls) co_await send_alert(c.client, kInternalError);
    co_return;
  }
  std::vector<std::uint8_t> none;
  net::RelayLeg to{std::move(server), std::move(server_tls)};
  co_await join(c, to, early, none, r, sent);
}

awaitable<void> terminate(Conn& c, const Route& r, std::vector<std::uint8_t> hello_bytes) {
  c.rec.mode = "terminate";
  c.rec.router = r.name;
  c.rec.service = r.service->name;
  std::string why;
  tls::SslPtr ssl = terminating_ssl(c.snap, *r.options, c.sni, why);
  if (!ssl) {
    refuse(c, "no_certificate", fmt::format("router {}: {}", r.name, why));
    log_refusal(c);
    co_await send_alert(c.client, kUnrecognizedName);
    co_return;
  }
  c.client_tls = std::make_unique<net::TlsStream>(c.client, std::move(ssl), std::move(hello_bytes));
  if (!co_await client_handshake(c, *c.client_tls, r.name)) co_return;
  co_await to_backend(c, r, {});
}

awaitable<void> route_plain(Conn& c, std::vector<std::uint8_t> early) {
  c.facts.tls = false;
  c.rec.mode = "plain";
  const Route* r = match(c.entry, c.facts);
  if (!r) {
    refuse(c, "no_route", explain_no_route(c.entry, c.facts));
    log_refusal(c);
    co_return;
  }
  co_await to_backend(c, *r, std::move(early));
}

awaitable<void> journey(Conn& c) {
  const config::EntryPoint& ep = c.entry.ep;
  if (c.entry.server_first) {
    co_await route_plain(c, {});
    co_return;
  }
  // A silent client on an entry point that also has plain routers is taken to
  // be a server-first protocol (MySQL, SMTP): it gets the plain catch-all. With
  // TLS routers only, the first byte has the same deadline as the whole hello,
  // so there is nothing to peek for: read the hello at once.
  if (c.entry.has_plain_routes) {
    switch (co_await wait_first_byte(c.client, std::min(ep.first_byte_timeout, left(c.hello_deadline)))) {
      case FirstByte::arrived:
        break;
      case FirstByte::closed:
        refuse(c, "client_closed", "the client closed before sending anything");
        co_return;
      case FirstByte::silent:
        co_await route_plain(c, {});
        co_return;
    }
  }

  Sniffed s;
  co_await read_client_hello(c.client, left(c.hello_deadline), s);
  if (s.timed_out && s.bytes.empty()) {
    refuse(c, "timeout", fmt::format("the client sent nothing within clientHelloTimeout ({} ms)",
                                     ep.client_hello_timeout.count()));
    log_refusal(c, spdlog::level::debug);
    co_return;
  }
  if (s.timed_out) {
    refuse(c, "timeout", fmt::format("incomplete ClientHello after clientHelloTimeout ({} ms, {} bytes)",
                                     ep.client_hello_timeout.count(), s.bytes.size()));
    log_refusal(c);
    co_return;
  }
  if (s.status == wire::HelloStatus::need_more && s.bytes.empty()) {
    refuse(c, "client_closed", "the client closed before sending anything");
    co_return;
  }
  switch (s.status) {
    case wire::HelloStatus::need_more:
      refuse(c, "client_closed", fmt::format("the client closed during its ClientHello ({} bytes)", s.bytes.size()));
      co_return;
    case wire::HelloStatus::not_tls: {
      // Every PostgreSQL startup packet starts with a zero byte (its length
      // is below 2^24); no TLS record and no text protocol does.
      bool taken = false;
      if (s.bytes[0] == 0) taken = co_await postgres_detect(c, s.bytes);
      if (!taken) co_await route_plain(c, std::move(s.bytes));
      co_return;
    }
    case wire::HelloStatus::malformed:
    case wire::HelloStatus::too_large:
      refuse(c, "bad_hello", s.status == wire::HelloStatus::too_large
                                 ? fmt::format("ClientHello larger than {} bytes", wire::kMaxClientHello)
                                 : "malformed ClientHello: " + s.error);
      log_refusal(c);
      co_await send_alert(c.client, kDecodeError);
      co_return;
    case wire::HelloStatus::complete:
      break;
  }

  if (offers_postgresql(s.hello)) {
    co_await postgres_direct_tls(c, s);
    co_return;
  }
  note_hello(c, s.hello);

  const Route* r = match(c.entry, c.facts);
  if (!r) {
    refuse(c, "no_route", explain_no_route(c.entry, c.facts));
    log_refusal(c);
    co_await send_alert(c.client, kUnrecognizedName);
    co_return;
  }
  if (r->passthrough) {
    c.rec.mode = "passthrough";
    co_await to_backend(c, *r, std::move(s.bytes));
  } else {
    co_await terminate(c, *r, std::move(s.bytes));
  }
}

}  // namespace

void note_hello(Conn& c, const wire::ClientHello& hello) {
  c.sni = lower_ascii(hello.sni);
  c.alpn = hello.alpn();
  c.facts.tls = true;
  c.facts.sni = c.sni;
  c.facts.alpn = c.alpn;
  c.rec.tls = true;
  c.rec.sni = c.sni;
  c.rec.alpn = comma_joined(c.alpn);
  c.rec.tls_version = std::string(wire::tls_version_name(hello.max_version()));
}

awaitable<void> send_alert(tcp::socket& sock, std::uint8_t description) {
  const auto rec = wire::tls_alert_record(description);
  co_await net::within(net::Duration(1000), asio::async_write(sock, asio::buffer(rec), net::nothrow));
  co_await net::close_after_reply(sock, nullptr);
}

namespace {

// Early bytes are at most a ClientHello or a greeting, which a fresh socket
// takes at once: a plain one gets one send() here, and only what that leaves
// (or a TLS leg) costs a coroutine.
awaitable<bool> write_early(tcp::socket& sock, net::TlsStream* tls, std::span<const std::uint8_t> bytes,
                            std::error_code& ec) {
  if (tls) co_await tls->write_all(sock, bytes, ec);
  else ec = co_await net::send_all(sock, bytes);
  co_return !ec;
}

std::size_t sent_at_once(tcp::socket& sock, const net::TlsStream* tls, std::span<const std::uint8_t> bytes,
                         std::error_code& ec) {
  return tls || bytes.empty() ? 0 : net::send_now(sock, bytes, ec);
}

}  // namespace

awaitable<void> join(Conn& c, net::RelayLeg& server, std::vector<std::uint8_t>& early_up,
                     std::vector<std::uint8_t>& early_down, const Route& route, std::size_t up_sent) {
  std::error_code ec;
  std::size_t sent = up_sent + sent_at_once(server.sock, server.tls.get(), std::span(early_up).subspan(up_sent), ec);
  if (ec || (sent < early_up.size() &&
             !co_await write_early(server.sock, server.tls.get(), std::span(early_up).subspan(sent), ec))) {
    refuse(c, "reset", fmt::format("server {}: write: {}", c.rec.server, ec.message()));
    co_return;
  }
  sent = sent_at_once(c.client, c.client_tls.get(), early_down, ec);
  if (ec || (sent < early_down.size() &&
             !co_await write_early(c.client, c.client_tls.get(), std::span(early_down).subspan(sent), ec))) {
    refuse(c, "client_closed", fmt::format("client: write: {}", ec.message()));
    co_return;
  }
  c.rec.bytes_in += early_up.size();
  c.rec.bytes_out += early_down.size();
  std::vector<std::uint8_t>().swap(early_up);
  std::vector<std::uint8_t>().swap(early_down);
  relay_and_finish(c, std::move(server), {route.idle_timeout.value_or(c.entry.ep.tcp_idle_timeout),
                                          route.service->termination_delay});
}

tls::SslPtr terminating_ssl(const Snapshot& snap, const tls::ServerOptions& options, std::string_view sni,
                            std::string& why) {
  const tls::CertChoice choice = snap.certs.select(sni);
  if (options.sni_strict && choice.how == tls::CertMatch::fallback) {
    why = fmt::format("sniStrict is set and no certificate names {}",
                      sni.empty() ? "(no SNI sent)" : "\"" + std::string(sni) + "\"");
    return nullptr;
  }
  SSL_CTX* with_cert = options.ctx_for(*choice.cert);
  tls::SslPtr ssl(SSL_new(with_cert ? with_cert : options.ctx.get()));
  if (!with_cert) tls::use_cert(ssl.get(), *choice.cert);
  SSL_set_accept_state(ssl.get());
  return ssl;
}

namespace {

// A verifying client that stops at the certificate usually got the default
// one: say so, since the client's own message rarely reaches the operator.
std::string default_cert_note(const Snapshot& snap, std::string_view sni) {
  const tls::CertChoice choice = snap.certs.select(sni);
  if (choice.how != tls::CertMatch::fallback || !choice.cert) return {};
  return sni.empty() ? fmt::format("; the client sent no SNI, so it got the default certificate ({})", choice.cert->origin)
                     : fmt::format("; no certificate names \"{}\", so the client got the default certificate ({})",
                                   sni, choice.cert->origin);
}

}  // namespace

awaitable<bool> client_handshake(Conn& c, net::TlsStream& tls, std::string_view router) {
  net::SocketDeadline deadline(c.client, left(c.hello_deadline));
  const bool done = co_await tls.handshake(c.client);
  co_await deadline.disarm();
  if (!done) {
    const bool late = deadline.fired();
    refuse(c, late ? "timeout" : "tls_handshake_failed",
           late ? fmt::format("TLS handshake not done within clientHelloTimeout ({} ms from accept)",
                               c.entry.ep.client_hello_timeout.count())
                 : "TLS handshake with the client failed: " + tls.error() + default_cert_note(c.snap, c.rec.sni));
    spdlog::info("{}: router {}: {}", c.rec.client, router.empty() ? "(none yet)" : router,
                 observe::printable(c.rec.detail));
    co_return false;
  }
  c.rec.tls_version = SSL_get_version(tls.ssl());
  const unsigned char* proto = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(tls.ssl(), &proto, &len);
  c.rec.alpn_chosen.assign(reinterpret_cast<const char*>(proto), len);
  co_return true;
}

void relay_and_finish(Conn& c, net::RelayLeg server, net::RelayLimits limits) {
  c.relayed = true;
  net::RelayDone done;
  if (observe::access_log_open() || spdlog::should_log(spdlog::level::debug)) {
    // The record and the Snapshot (rec.entry_point points into it) move to
    // the relay's callback; the journey must not touch c.rec after this.
    done = [rec = std::move(c.rec), snapshot = c.snapshot, held = std::move(c.held)](const net::RelayResult& rr) mutable {
      rec.bytes_in += rr.up;
      rec.bytes_out += rr.down;
      rec.end = net::to_string(rr.end);
      if (rec.detail.empty()) rec.detail = rr.detail;
      else if (!rr.detail.empty()) rec.detail += "; " + rr.detail;
      finish(rec);
    };
  } else {
    // Nothing would be written at the end: an idle connection keeps no
    // record (about 400 bytes), only the Snapshot it started with.
    done = [snapshot = c.snapshot, held = std::move(c.held)](const net::RelayResult&) {
      open_connections.fetch_sub(1, std::memory_order_relaxed);
    };
  }
  net::start_relay({std::move(c.client), std::move(c.client_tls)}, std::move(server), limits, std::move(done),
                   std::move(c.up_filter));
}

awaitable<void> serve(tcp::socket client, tcp::endpoint peer, std::shared_ptr<const Snapshot> snap,
                      const EntryRoutes& entry) {
  open_connections.fetch_add(1, std::memory_order_relaxed);
  Conn c{client, *snap, entry, net::Clock::now() + entry.ep.client_hello_timeout, {}, {}, {}, {}, snap, {}, false, {}};
  c.rec.start = std::chrono::system_clock::now();
  c.rec.entry_point = entry.ep.name;
  {
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; both
    // forms are the same IpAddress, shown dotted.
    const auto addr = peer.address();
    const IpAddress ip = addr.is_v4() ? IpAddress::from_v4(addr.to_v4().to_bytes())
                                      : IpAddress::from_bytes(addr.to_v6().to_bytes());
    c.rec.client = ip.with_port(peer.port());
    c.facts.client_ip = ip;
  }
  try {
    switch (entry.ep.protocol) {
      case config::Protocol::mysql:
        co_await mysql_journey(c);
        break;
      case config::Protocol::postgres:
        co_await postgres_journey(c);
        break;
      case config::Protocol::tcp:
        co_await journey(c);
        break;
    }
  } catch (const std::exception& e) {
    if (!c.relayed) refuse(c, "error", e.what());
    spdlog::error("{}: {}", c.rec.client, observe::printable(e.what()));
  }
  if (!c.relayed) finish(c.rec);
}

}  // namespace snigate::session
