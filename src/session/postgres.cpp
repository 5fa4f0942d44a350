#include "session/postgres.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "net/linger.hpp"
#include "session/backend.hpp"
#include "session/pg_cancel.hpp"
#include "session/pg_leg.hpp"
#include "session/pg_login.hpp"

namespace snigate::session {

namespace {

using net::awaitable;
using net::tcp;
namespace wp = wire::postgres;
using pg::Got;
using pg::Leg;

// Alert descriptions (RFC 8446 6.2).
constexpr std::uint8_t kDecodeError = 50;
constexpr std::uint8_t kUnrecognizedName = 112;
constexpr std::uint8_t kNoApplicationProtocol = 120;

// A client may ask for GSS encryption, then SSL, then give up on both: more
// requests than that are not a client following the protocol.
constexpr int kMaxRequests = 3;

std::string hex(const wp::Bytes& b) {
  std::string out;
  for (std::size_t i = 0; i < std::min<std::size_t>(b.size(), 8); ++i)
    out += fmt::format("{}{:02x}", i ? " " : "", b[i]);
  return out;
}

// The one-byte answer to an SSLRequest or GSSENCRequest.
awaitable<bool> say(tcp::socket& sock, char answer) {
  auto write = [&]() -> awaitable<bool> {
    auto [ec, n] = co_await asio::async_write(sock, asio::buffer(&answer, 1), net::nothrow);
    co_return !ec;
  };
  auto r = co_await net::within(net::Duration(1000), write());
  co_return r && *r;
}

// The opening of a connection failed before there was anything to route.
awaitable<void> opening_failed(Conn& c, Leg& cl, Got g, const std::string& why) {
  if (g == Got::closed) {
    refuse(c, "client_closed", "the client closed before its startup packet: " + why);
    co_return;
  }
  const wp::Bytes err =
      g == Got::timeout
          ? pg::refusal(c, pg::kConnectionFailure,
                        fmt::format("snigate: no startup packet within clientHelloTimeout ({} ms)",
                                    c.entry.ep.client_hello_timeout.count()),
                        "timeout")
          : pg::refusal(c, pg::kProtocolViolation, "snigate: " + why, "bad_request");
  co_await pg::answer(cl, err);
}

// A cancel goes to the server that issued the key when snigate saw it (a
// terminated session), else to every server that could have issued it.
awaitable<void> cancel(Conn& c, const wp::Bytes& packet) {
  c.rec.mode = "postgres-cancel";
  wp::CancelRequest req;
  if (wp::parse_cancel(packet, req) != wp::Status::complete) {
    refuse(c, "bad_request", "a malformed CancelRequest");
    log_refusal(c);
    co_return;
  }
  CancelTarget known;
  const bool attributed = cancel_keys().find(req, known);
  const std::vector<CancelTarget> targets =
      attributed ? std::vector<CancelTarget>{known} : passthrough_cancel_targets(c.entry);
  if (targets.empty()) {
    refuse(c, "no_route",
           fmt::format("CancelRequest for process {}: no session through snigate holds this key, and no "
                       "PostgreSQL passthrough service could",
                       req.pid));
    log_refusal(c);
    co_return;
  }
  CancelLimiter::Permit permit;
  if (!admit_cancel(c, !attributed, permit)) co_return;
  std::string why;
  const std::size_t sent = co_await forward_cancel(targets, req, why);
  if (attributed) c.rec.server = known.address;
  c.rec.end = sent ? "cancel_forwarded" : "backend_unreachable";
  c.rec.detail = attributed ? fmt::format("CancelRequest for process {} to server {}, which issued its key", req.pid,
                                          known.address)
                            : fmt::format("CancelRequest for process {} to {} of {} server(s) of PostgreSQL "
                                          "passthrough services (snigate never saw the key)",
                                          req.pid, sent, targets.size());
  if (!why.empty()) c.rec.detail += ": " + why;
  log_refusal(c);
}

// The ClientHello after an SSLRequest or as the first bytes. false: refused.
awaitable<bool> read_hello(Conn& c, Sniffed& s) {
  co_await read_client_hello(c.client, left(c.hello_deadline), s);
  if (s.timed_out) {
    refuse(c, "timeout",
           fmt::format("no whole ClientHello within clientHelloTimeout ({} ms, {} bytes)",
                       c.entry.ep.client_hello_timeout.count(), s.bytes.size()));
  } else if (s.status == wire::HelloStatus::need_more) {
    refuse(c, "client_closed", "the client closed during its ClientHello");
  } else if (s.status != wire::HelloStatus::complete) {
    refuse(c, "bad_hello",
           s.status == wire::HelloStatus::not_tls ? "the client asked for TLS (SSLRequest) and then did not start it"
                                                  : "malformed ClientHello: " + s.error);
  } else {
    co_return true;
  }
  log_refusal(c);
  if (s.status == wire::HelloStatus::malformed || s.status == wire::HelloStatus::too_large)
    co_await send_alert(c.client, kDecodeError);
  co_return false;
}

// Refuses a client whose TLS handshake snigate has not answered (it chose a
// passthrough router): snigate completes the handshake itself so that the
// client can read an ErrorResponse. A client that verifies certificates
// stops at that check instead, unless snigate has the name's certificate;
// snigate's log says why either way.
awaitable<void> refuse_in_tls(Conn& c, std::vector<std::uint8_t>& hello, std::string_view sqlstate,
                              const std::string& message, std::string_view end) {
  // The refusal may come after a dial that used up clientHelloTimeout.
  c.hello_deadline = std::max(c.hello_deadline, net::Clock::now() + net::Duration(2000));
  std::string why;
  tls::SslPtr ssl = terminating_ssl(c.snap, *c.snap.options.at("default"), c.sni, why);
  if (!ssl) {
    refuse(c, std::string(end), message);
    log_refusal(c);
    co_await send_alert(c.client, kUnrecognizedName);
    co_return;
  }
  net::TlsStream tls(c.client, std::move(ssl), std::move(hello));
  const bool up = co_await client_handshake(c, tls, c.rec.router);
  if (!up) {
    refuse(c, std::string(end), message + " (the client did not accept snigate's TLS to read this)");
    log_refusal(c);
    co_return;
  }
  Leg cl{c.client, &tls, {}};
  wp::Bytes packet;
  // Read the StartupMessage first: closing with unread input resets the
  // connection and can destroy the answer.
  co_await pg::read_startup_packet(cl, net::Clock::now() + net::Duration(1000), packet, why);
  const wp::Bytes err = pg::refusal(c, sqlstate, message, end);
  co_await pg::answer(cl, err);
}

// Passthrough: the server gets snigate's own SSLRequest (any PostgreSQL takes
// one; only 17+ takes direct TLS), then the client's TLS bytes untouched.
awaitable<void> passthrough(Conn& c, const Route& r, std::vector<std::uint8_t>& hello) {
  c.rec.mode = "passthrough";
  c.rec.router = r.name;
  c.rec.service = r.service->name;
  const Service& svc = *r.service;
  tcp::socket server(c.client.get_executor());
  std::string why;
  const wp::Bytes ssl_request = wp::encode_ssl_request();
  std::size_t sent = 0;  // of ssl_request, with the connect
  const Server* chosen = co_await connect_service(svc, server, why, ssl_request, &sent);
  if (!chosen) {
    const std::string message =
        fmt::format("snigate: router {}: service {}: no server answered: {}", r.name, svc.name, why);
    co_await refuse_in_tls(c, hello, pg::kUnreachable, message, "backend_unreachable");
    co_return;
  }
  c.rec.server = chosen->address;
  Leg up{server, nullptr, {}};
  const auto deadline = net::Clock::now() + svc.dial_timeout;
  wp::Bytes reply;
  Got g = Got::closed;
  bool asked = sent == ssl_request.size();
  if (!asked) {
    const std::span<const std::uint8_t> rest = std::span(ssl_request).subspan(sent);
    asked = co_await write_bytes(up, rest, deadline);
  }
  if (asked) g = co_await pg::read_exact(up, 1, deadline, reply, why);
  if (g != Got::done || reply[0] != 'S') {
    const std::string said = g != Got::done   ? why
                             : reply[0] == 'N' ? "answered N (it does not accept TLS)"
                                                : fmt::format("answered {:#04x}, not S or N", reply[0]);
    const std::string message =
        fmt::format("snigate: router {}: server {} {} to snigate's SSLRequest", r.name, chosen->address, said);
    co_await refuse_in_tls(c, hello, pg::kUnreachable, message, "backend_tls_failed");
    co_return;
  }
  svc.postgres_passthrough.store(true, std::memory_order_relaxed);
  std::vector<std::uint8_t> none;
  net::RelayLeg to{std::move(server), nullptr};
  co_await join(c, to, hello, none, r);
}

// A PostgreSQL client that started TLS (after an SSLRequest, or directly).
// Routed by SNI: a passthrough router takes it as is; otherwise snigate
// terminates and reads the StartupMessage (which may name the server as
// user@host when there was no SNI).
awaitable<void> tls_client(Conn& c, Sniffed& s) {
  note_hello(c, s.hello);
  const Route* r = match(c.entry, c.facts);
  if (!r && c.entry.has_plain_routes) {
    // A tcp entry point's plain catch-all took every PostgreSQL client
    // before snigate read SSLRequests: it still takes those that no TLS
    // router does, TLS untouched, as a passthrough router would.
    Facts plain = c.facts;
    plain.tls = false;
    r = match(c.entry, plain);
  }
  if (r && (r->passthrough || !r->tls)) {
    co_await passthrough(c, *r, s.bytes);
    co_return;
  }
  const tls::ServerOptions* options = r && r->options ? r->options.get() : c.snap.options.at("default").get();
  std::string why;
  tls::SslPtr ssl = terminating_ssl(c.snap, *options, c.sni, why);
  if (!ssl) {
    refuse(c, "no_certificate", why);
    log_refusal(c);
    co_await send_alert(c.client, kUnrecognizedName);
    co_return;
  }
  c.handshake_options = options;
  c.client_tls = std::make_unique<net::TlsStream>(c.client, std::move(ssl), std::move(s.bytes));
  const std::string router = r ? r->name : "";
  if (!co_await client_handshake(c, *c.client_tls, router)) co_return;
  Leg cl{c.client, c.client_tls.get(), {}};
  wp::Bytes packet;
  const Got g = co_await pg::read_startup_packet(cl, c.hello_deadline, packet, why);
  if (g != Got::done) {
    co_await opening_failed(c, cl, g, why);
    co_return;
  }
  switch (wp::classify_first(packet)) {
    case wp::First::cancel_request:
      co_await cancel(c, packet);
      co_return;
    case wp::First::startup_message:
      co_await pg::login(c, cl, packet);
      co_return;
    default: {
      const wp::Bytes err = pg::refusal(c, pg::kProtocolViolation,
                                        "snigate: expected a StartupMessage inside TLS, got bytes " + hex(packet),
                                        "bad_request");
      co_await pg::answer(cl, err);
      co_return;
    }
  }
}

}  // namespace

bool offers_postgresql(const wire::ClientHello& hello) { return hello.offers("postgresql"); }

awaitable<void> postgres_journey(Conn& c) {
  c.rec.mode = "postgres";
  Leg cl{c.client, nullptr, {}};
  for (int requests = 0;; ++requests) {
    const FirstByte first = co_await wait_first_byte(c.client, left(c.hello_deadline));
    if (first == FirstByte::closed) {
      refuse(c, "client_closed", "the client closed before sending anything");
      co_return;
    }
    if (first == FirstByte::silent) {
      co_await opening_failed(c, cl, Got::timeout, "");
      co_return;
    }
    std::uint8_t byte = 0;
    std::error_code ec;
    c.client.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    if (byte == 0x16) {  // a TLS handshake record: direct TLS
      Sniffed s;
      if (!co_await read_hello(c, s)) co_return;
      if (!offers_postgresql(s.hello)) {
        note_hello(c, s.hello);
        refuse(c, "no_alpn",
               fmt::format("direct TLS without ALPN \"postgresql\" on entry point {}, which speaks PostgreSQL "
                           "(PostgreSQL 17 clients with sslnegotiation=direct offer it)",
                           c.entry.ep.name));
        log_refusal(c);
        co_await send_alert(c.client, kNoApplicationProtocol);
        co_return;
      }
      co_await tls_client(c, s);
      co_return;
    }
    wp::Bytes packet;
    std::string why;
    Got g = co_await pg::read_exact(cl, 8, c.hello_deadline, packet, why);
    if (g != Got::done) {
      co_await opening_failed(c, cl, g, why);
      co_return;
    }
    const wp::First kind = wp::classify_first(packet);
    if (kind == wp::First::not_postgres || (requests == kMaxRequests && kind != wp::First::startup_message)) {
      const wp::Bytes err = pg::refusal(
          c, pg::kProtocolViolation,
          fmt::format("snigate: entry point {} speaks PostgreSQL, and this client did not send a PostgreSQL "
                      "startup packet (first bytes: {})",
                      c.entry.ep.name, hex(packet)),
          "not_postgres");
      co_await pg::answer(cl, err);
      co_return;
    }
    if (kind == wp::First::gssenc_request) {  // snigate does not do GSSAPI encryption
      if (!co_await say(c.client, 'N')) co_return;
      continue;
    }
    if (kind == wp::First::ssl_request) {
      if (!co_await say(c.client, 'S')) co_return;
      Sniffed s;
      if (!co_await read_hello(c, s)) co_return;
      co_await tls_client(c, s);
      co_return;
    }
    g = co_await pg::read_exact(cl, wp::startup_length(packet) - 8, c.hello_deadline, packet, why);
    if (g != Got::done) {
      co_await opening_failed(c, cl, g, why);
      co_return;
    }
    if (kind == wp::First::cancel_request) co_await cancel(c, packet);
    else co_await pg::login(c, cl, packet);
    co_return;
  }
}

awaitable<bool> postgres_detect(Conn& c, std::vector<std::uint8_t>& read) {
  Leg cl{c.client, nullptr, std::move(read)};
  read.clear();
  // Not for this driver: every byte read so far goes back to the caller.
  auto give_back = [&] {
    read.insert(read.end(), cl.buf.begin(), cl.buf.end());
    return false;
  };
  // With no TLS router there is no name to learn: the plain catch-all (a
  // PostgreSQL server, presumably) answers the client's requests itself.
  const bool may_answer = c.entry.has_tls_routes;
  for (int requests = 0; requests < kMaxRequests; ++requests) {
    read.clear();
    std::string why;
    if (co_await pg::read_exact(cl, 8, c.hello_deadline, read, why) != Got::done) co_return give_back();
    const wp::First kind = wp::classify_first(read);
    // A client waits for the answer to a request before it says more.
    const bool answerable = may_answer && cl.buf.empty();
    if (kind == wp::First::gssenc_request && answerable) {
      if (!co_await say(c.client, 'N')) co_return true;
      continue;
    }
    if (kind == wp::First::ssl_request && answerable) {
      c.rec.mode = "postgres";
      if (!co_await say(c.client, 'S')) co_return true;
      Sniffed s;
      if (co_await read_hello(c, s)) co_await tls_client(c, s);
      co_return true;
    }
    if (kind != wp::First::cancel_request) co_return give_back();
    if (co_await pg::read_exact(cl, wp::startup_length(read) - 8, c.hello_deadline, read, why) != Got::done)
      co_return give_back();
    // Only when a PostgreSQL server could take it; otherwise a plain
    // catch-all (perhaps a PostgreSQL server itself) gets the bytes.
    wp::CancelRequest req;
    CancelTarget known;
    if (wp::parse_cancel(read, req) != wp::Status::complete) co_return give_back();
    if (!cancel_keys().find(req, known) && passthrough_cancel_targets(c.entry).empty()) co_return give_back();
    co_await cancel(c, read);
    co_return true;
  }
  co_return give_back();
}

awaitable<void> postgres_direct_tls(Conn& c, Sniffed& s) {
  c.rec.mode = "postgres";
  co_await tls_client(c, s);
}

}  // namespace snigate::session
