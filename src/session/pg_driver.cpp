#include "session/pg_driver.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "net/linger.hpp"
#include "session/client_tls.hpp"
#include "session/login_name.hpp"
#include "session/no_route.hpp"
#include "session/pg_cancel.hpp"
#include "session/pg_leg.hpp"
#include "session/pg_login.hpp"
#include "session/proxy_out.hpp"
#include "session/sniff.hpp"

namespace snigate::session {

namespace {

using net::awaitable;
namespace wp = wire::postgres;
using pg::Got;

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
awaitable<bool> say(net::tcp::socket& sock, char answer) {
  auto write = [&]() -> awaitable<bool> {
    auto [ec, n] = co_await asio::async_write(sock, asio::buffer(&answer, 1), net::nothrow);
    co_return !ec;
  };
  auto r = co_await net::within(net::Duration(1000), write());
  co_return r && *r;
}

// The opening of a connection failed before there was anything to route.
Refusal opening_failed(const Conn& c, Got g, const std::string& why) {
  if (g == Got::closed) return client_gone("the client closed before its startup packet: " + why);
  if (g == Got::timeout)
    return {
        Cause::timeout, "timeout",
        fmt::format("no startup packet within clientHelloTimeout ({} ms)", c.entry.ep.client_hello_timeout.count())};
  return {Cause::bad_request, "bad_request", why};
}

Refusal not_postgres(const Conn& c, const wp::Bytes& packet) {
  return {Cause::bad_request, "not_postgres",
          fmt::format("entry point {} speaks PostgreSQL, and this client did not send a PostgreSQL "
                      "startup packet (first bytes: {})",
                      c.entry.ep.name, hex(packet))};
}

// A cancel goes to the server that issued the key when snigate saw it (a
// terminated session), else to every server that could have issued it.
awaitable<Refused> cancel(Conn& c, const wp::Bytes& packet) {
  c.rec.mode = "postgres-cancel";
  wp::CancelRequest req;
  if (wp::parse_cancel(packet, req) != wp::Status::complete)
    co_return Refusal{Cause::finished, "bad_request", "a malformed CancelRequest"};
  CancelTarget known;
  const bool attributed = cancel_keys().find(req, known);
  const std::vector<CancelTarget> targets =
      attributed ? std::vector<CancelTarget>{known} : passthrough_cancel_targets(c.entry);
  if (targets.empty())
    co_return Refusal{Cause::finished, "no_route",
                      fmt::format("CancelRequest for process {}: no session through snigate holds this "
                                  "key, and no PostgreSQL passthrough service could",
                                  req.pid)};
  CancelLimiter::Permit permit;
  if (Refused dropped = admit_cancel(c, !attributed, permit)) co_return dropped;
  std::string why;
  const std::array<std::vector<std::uint8_t>, 3> headers{{{}, proxy_header(c, 1), proxy_header(c, 2)}};
  const std::size_t sent = co_await forward_cancel(targets, req, why, headers);
  if (attributed) c.rec.server = known.address;
  Refusal done{Cause::finished, sent ? "cancel_forwarded" : "backend_unreachable", ""};
  done.message = attributed ? fmt::format("CancelRequest for process {} to server {}, which issued its key", req.pid,
                                          known.address)
                            : fmt::format(
                                  "CancelRequest for process {} to {} of {} server(s) of PostgreSQL "
                                  "passthrough services (snigate never saw the key)",
                                  req.pid, sent, targets.size());
  if (!why.empty()) done.message += ": " + why;
  co_return done;
}

// A direct TLS client must offer PostgreSQL's ALPN.
Refused direct_tls_alpn(const Conn& c) {
  if (c.open.alpn.end() != std::find(c.open.alpn.begin(), c.open.alpn.end(), "postgresql")) return std::nullopt;
  return Refusal{Cause::no_protocol, "no_alpn",
                 fmt::format("direct TLS without ALPN \"postgresql\" on entry point {}, which speaks PostgreSQL "
                             "(PostgreSQL 17 clients with sslnegotiation=direct offer it)",
                             c.entry.ep.name)};
}

}  // namespace

bool offers_postgresql(const wire::ClientHello& hello) { return hello.offers("postgresql"); }

// GCC 12 reports -Wmismatched-new-delete for these two coroutines' frames, a
// known false positive (GCC bug 109224: the promise's sized operator delete is
// matched against the global operator new after inlining). Scoped to them so
// the check stays on everywhere else.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
awaitable<Refused> PgDriver::preamble(Conn& c) {
  c.rec.mode = "postgres";
  if (c.open.hello_pending) co_return co_await after_hello(c);  // direct TLS, from a tcp entry point
  if (c.entry.ep.protocol == config::Protocol::tcp) co_return co_await from_tcp_entry(c);
  for (int requests = 0;; ++requests) {
    const FirstByte first = co_await wait_first_byte(c.client.sock, left(c.hello_deadline));
    if (first == FirstByte::closed) co_return client_gone("the client closed before sending anything");
    if (first == FirstByte::silent) co_return opening_failed(c, Got::timeout, "");
    std::uint8_t byte = 0;
    std::error_code ec;
    c.client.sock.receive(asio::buffer(&byte, 1), net::tcp::socket::message_peek, ec);
    if (byte == 0x16) {  // a TLS handshake record: direct TLS
      Refused s = co_await read_hello(c, false);
      if (!s) s = direct_tls_alpn(c);
      if (s) co_return s;
      co_return co_await after_hello(c);
    }
    wp::Bytes packet;
    std::string why;
    Got g = co_await pg::read_exact(c.client, 8, c.hello_deadline, packet, why);
    if (g != Got::done) co_return opening_failed(c, g, why);
    const wp::First kind = wp::classify_first(packet);
    if (kind == wp::First::not_postgres || (requests == kMaxRequests && kind != wp::First::startup_message))
      co_return not_postgres(c, packet);
    if (kind == wp::First::gssenc_request) {  // snigate does not do GSSAPI encryption
      if (!co_await say(c.client.sock, 'N')) co_return client_gone("the client closed after its GSSENCRequest");
      continue;
    }
    if (kind == wp::First::ssl_request) {
      if (!co_await say(c.client.sock, 'S')) co_return client_gone("the client closed after its SSLRequest");
      if (Refused s = co_await read_hello(c, true)) co_return s;
      co_return co_await after_hello(c);
    }
    g = co_await pg::read_exact(c.client, wp::startup_length(packet) - 8, c.hello_deadline, packet, why);
    if (g != Got::done) co_return opening_failed(c, g, why);
    if (kind == wp::First::cancel_request) co_return co_await cancel(c, packet);
    co_return read_login(c, packet);
  }
}

// A tcp entry point's client whose first byte is 0, as every PostgreSQL
// startup packet's is. SSLRequest, GSSENCRequest and a CancelRequest someone
// can take are PostgreSQL's; anything else goes to the plain routers with
// every byte read.
awaitable<Refused> PgDriver::from_tcp_entry(Conn& c) {
  // With no TLS router there is no name to learn: the plain catch-all (a
  // PostgreSQL server, presumably) answers the client's requests itself.
  const bool may_answer = c.entry.has_tls_routes;
  wp::Bytes read;
  for (int requests = 0; requests < kMaxRequests; ++requests) {
    read.clear();
    std::string why;
    if (co_await pg::read_exact(c.client, 8, c.hello_deadline, read, why) != Got::done) break;
    const wp::First kind = wp::classify_first(read);
    // A client waits for the answer to a request before it says more.
    const bool answerable = may_answer && c.client.buf.empty();
    if (kind == wp::First::gssenc_request && answerable) {
      if (!co_await say(c.client.sock, 'N')) co_return client_gone("the client closed after its GSSENCRequest");
      continue;
    }
    if (kind == wp::First::ssl_request && answerable) {
      if (!co_await say(c.client.sock, 'S')) co_return client_gone("the client closed after its SSLRequest");
      if (Refused s = co_await read_hello(c, true)) co_return s;
      co_return co_await after_hello(c);
    }
    if (kind != wp::First::cancel_request) break;
    if (co_await pg::read_exact(c.client, wp::startup_length(read) - 8, c.hello_deadline, read, why) != Got::done)
      break;
    // Only when a PostgreSQL server could take it; otherwise a plain
    // catch-all (perhaps a PostgreSQL server itself) gets the bytes.
    wp::CancelRequest req;
    CancelTarget known;
    if (wp::parse_cancel(read, req) != wp::Status::complete) break;
    if (!cancel_keys().find(req, known) && passthrough_cancel_targets(c.entry).empty()) break;
    co_return co_await cancel(c, read);
  }
  c.client.buf.insert(c.client.buf.begin(), read.begin(), read.end());
  mode = Mode::plain;
  c.rec.mode = "plain";
  c.facts.tls = false;
  co_return std::nullopt;
}
#pragma GCC diagnostic pop

// A PostgreSQL client that started TLS (after an SSLRequest, or directly).
// Routed by SNI: a passthrough router takes it as is; otherwise snigate
// terminates and reads the StartupMessage (which may name the server as
// user@host when there was no SNI).
awaitable<Refused> PgDriver::after_hello(Conn& c) {
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
    mode = Mode::passthrough;
    c.rec.mode = "passthrough";
    c.open.route = r;
    co_return std::nullopt;
  }
  const tls::ServerOptions* options = r && r->options ? r->options.get() : c.snap.options.at("default").get();
  const std::string_view router = r ? std::string_view(r->name) : std::string_view();
  if (Refused s = co_await secure_client(c, *options, router)) co_return s;
  c.open.handshake_options = options;
  wp::Bytes packet;
  std::string why;
  const Got g = co_await pg::read_startup_packet(c.client, c.hello_deadline, packet, why);
  if (g != Got::done) co_return opening_failed(c, g, why);
  switch (wp::classify_first(packet)) {
    case wp::First::cancel_request: co_return co_await cancel(c, packet);
    case wp::First::startup_message: co_return read_login(c, packet);
    default:
      co_return Refusal{Cause::bad_request, "bad_request",
                        "expected a StartupMessage inside TLS, got bytes " + hex(packet)};
  }
}

// With SNI the name is known and the user name is the client's business
// (role names may contain '@'); without it (or with an IP address as SNI,
// which names no host), user@host names the server and the server sees only
// the user.
Refused PgDriver::read_login(Conn& c, const wp::Bytes& packet) {
  std::string why;
  if (wp::parse_startup(packet, startup, &why) != wp::Status::complete)
    return Refusal{Cause::bad_request, "bad_request", "malformed StartupMessage: " + why};
  const std::string* sent_user = startup.get("user");
  if (!sent_user || sent_user->empty())
    return Refusal{Cause::denied, "bad_request", "no user name in the StartupMessage"};
  c.open.user = *sent_user;
  std::string name = c.open.sni;
  if (const wp::UserHost uh = wp::user_at_host(c.open.user); routes_by_user_host(c.open.sni, uh.host)) {
    name = lower_ascii(uh.host);
    c.open.user = std::string(uh.user);
    wp::strip_host_from_login(startup, c.open.user);
    c.open.name_from_user = true;
  }
  set_routing_name(c, std::move(name));
  return std::nullopt;
}

Refused PgDriver::admit(Conn& c, const Route& r) {
  if (mode == Mode::login && !c.client.tls && !r.pg_allow_plaintext) return plaintext_refusal(c.entry, r);
  return std::nullopt;
}

std::span<const std::uint8_t> PgDriver::first_bytes(Conn& c, const Route&) {
  static const wp::Bytes ssl_request = wp::encode_ssl_request();
  switch (mode) {
    case Mode::plain: return c.client.buf;
    case Mode::passthrough: return ssl_request;
    case Mode::login: break;
  }
  return {};
}

awaitable<Refused> PgDriver::open_server(Conn& c, const Route& r, Upstream& up) {
  switch (mode) {
    case Mode::plain:
      if (up.server->tls) co_return co_await secure_server(r, up, c.open.sni);
      co_return std::nullopt;
    case Mode::passthrough: co_return co_await pg::open_passthrough(c, r, up);
    case Mode::login: break;
  }
  co_return co_await pg::open_login(c, r, up, startup);
}

awaitable<void> PgDriver::speak(Conn& c, const Refusal& r) {
  if (r.cause == Cause::silent || r.cause == Cause::finished || mode == Mode::plain) co_return;
  // A middleware's refusal on a passthrough route is an alert too: ending the
  // client's TLS to say more would cost a handshake for a refused client.
  const bool tls_only = r.cause == Cause::bad_hello || r.cause == Cause::no_protocol ||
                        r.cause == Cause::unknown_name || r.cause == Cause::not_allowed || r.cause == Cause::too_many;
  if (c.open.hello_pending && tls_only) {
    co_await send_alert(c.client.sock, alert_for(r.cause));
    co_return;
  }
  const wp::Bytes err = r.said.empty() ? pg::error_response(r) : r.said;
  if (c.open.hello_pending) {  // a passthrough route: snigate must end the client's TLS to say it
    if (!co_await pg::refuse_in_tls(c, err)) co_return;
  } else {
    co_await write_bytes(c.client, err, net::Clock::now() + net::Duration(1000));
  }
  co_await net::close_after_reply(c.client.sock, c.client.tls.get());
}

}  // namespace snigate::session
