#include "session/pg_login.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "net/linger.hpp"
#include "session/client_tls.hpp"
#include "session/leg.hpp"
#include "session/pg_auth.hpp"
#include "session/pg_cancel.hpp"
#include "session/pg_leg.hpp"

namespace snigate::session::pg {

namespace {

using net::awaitable;

// SCRAM channel binding (tls-server-end-point) hashes the certificate the
// client saw; the server checks it against its own. Through snigate both
// hold only when snigate presented the very certificate the server has.
bool same_certificate(const net::TlsStream* client, const net::TlsStream* server) {
  if (!client || !server) return false;
  X509* ours = SSL_get_certificate(client->ssl());
  X509* theirs = SSL_get0_peer_certificate(server->ssl());
  return ours && theirs && X509_cmp(ours, theirs) == 0;
}

// Why SCRAM channel binding cannot hold for this client, and what would make
// it hold: the same certificate on both legs, or TLS end to end.
std::string binding_cannot_hold_why(const Conn& c, bool client_tls, const Route& r, const Server& server) {
  return fmt::format(
      "SCRAM channel binding cannot hold through router {}: {}, and server {} binds to the "
      "certificate of snigate's TLS link to it",
      r.name,
      !client_tls          ? "the client has no TLS session (postgres.allowPlaintext)"
      : c.open.sni.empty() ? "the client's TLS ends at snigate, with the default certificate (no SNI)"
                           : "the client's TLS ends at snigate, with a certificate other than the server's",
      server.address);
}

std::string binding_would_hold(const Conn& c, bool client_tls) {
  return fmt::format(
      "binding holds only when the client's TLS reaches the server: a passthrough router "
      "(tls.passthrough){}, or a router that presents the server's own certificate and key{}",
      c.open.sni.empty() ? ", which needs the client's SNI (sslsni=1)" : "", !client_tls ? " to a TLS client" : "");
}

Refusal only_plus_refusal(const Conn& c, bool client_tls, const Route& r, const Server& server) {
  return {Cause::denied, "channel_binding",
          fmt::format("{}; server {} offers no SASL mechanism other than {}",
                      binding_cannot_hold_why(c, client_tls, r, server), server.address, kScramPlus),
          binding_would_hold(c, client_tls)};
}

// The client answered the offer snigate withheld PLUS from by binding anyway,
// or with the GS2 flag 'y' ("I could bind"), which the server, able to bind,
// rejects as a downgrade (RFC 5802); it is right to, snigate being the party
// in the middle.
Refusal binding_refusal(const Conn& c, bool client_tls, const Route& r, const Server& server, bool chose_plus) {
  std::string message = fmt::format(
      "{}; {}", binding_cannot_hold_why(c, client_tls, r, server),
      chose_plus ? "the client chose SCRAM-SHA-256-PLUS anyway"
                 : "the client can bind and so says it was not offered SCRAM-SHA-256-PLUS, which the server, able "
                   "to bind, rejects as a downgrade");
  return {Cause::denied, "channel_binding", std::move(message),
          "connect with channel_binding=disable; " + binding_would_hold(c, client_tls)};
}

// For the log when the client leaves after the mechanism list: libpq with
// channel_binding=require stops there when it was offered no PLUS.
std::string binding_gave_up_note(const Conn& c, bool client_tls, bool plain_link, bool withheld, const Route& r,
                                 const Server& server) {
  if (plain_link)
    return fmt::format(
        " (a client that requires channel binding gives up here: snigate's link to server {} is "
        "plain, so the server cannot offer SCRAM-SHA-256-PLUS)",
        server.address);
  if (withheld)
    return fmt::format(" (a client that requires channel binding gives up here: snigate withheld {}, as {}; {})",
                       kScramPlus, binding_cannot_hold_why(c, client_tls, r, server),
                       binding_would_hold(c, client_tls));
  return {};
}

Refusal server_lost(const Route& r, const Server& server, std::string what, std::string end) {
  return {Cause::lost, std::move(end), fmt::format("router {}: server {} {}", r.name, server.address, what)};
}

// snigate's SSLRequest and the server's one-byte answer. true: 'S'.
awaitable<bool> ask_for_tls(Upstream& up, net::Clock::time_point deadline, std::string& said) {
  wp::Bytes reply;
  std::string why;
  const Got g = co_await read_exact(up.leg, 1, deadline, reply, why);
  if (g == Got::done && reply[0] == 'S') co_return true;
  said = g != Got::done    ? why
         : reply[0] == 'N' ? "answered N (it does not accept TLS)"
                           : fmt::format("answered {:#04x}, not S or N", reply[0]);
  co_return false;
}

Refusal no_tls_from(const Route& r, const Server& server, const std::string& said) {
  return {Cause::unreachable, "backend_tls_failed",
          fmt::format("router {}: server {} {} to snigate's SSLRequest", r.name, server.address, said), "",
          spdlog::level::warn};
}

// The server's TLS for a client whose TLS ended at snigate, when the server
// is marked tls: its answer to snigate's SSLRequest, then the handshake.
awaitable<Refused> secure_login_server(const Conn& c, const Route& r, Upstream& up) {
  if (!up.server->tls) co_return std::nullopt;
  const auto deadline = net::Clock::now() + up.server->lb->dial_timeout;
  const wp::Bytes ssl_request = wp::encode_ssl_request();
  std::string said = "closed the connection";
  if (!co_await write_bytes(up.leg, ssl_request, deadline) || !co_await ask_for_tls(up, deadline, said))
    co_return no_tls_from(r, *up.server, said);
  co_return co_await secure_server(r, up, c.facts.sni);
}

// Why snigate stopped the login itself (LoginRelay's refusal), in words.
Refusal relay_refusal(const Conn& c, const LoginRelay& relay, bool client_tls, const Route& r, const Server& server) {
  switch (relay.refusal) {
    case LoginRefusal::pending_too_large:
      return server_lost(r, server,
                         fmt::format("sent more than {} KiB during the login without asking the client anything",
                                     kMaxLoginPending / 1024),
                         "backend_bad_message");
    case LoginRefusal::malformed_authentication: {
      Refusal bad = server_lost(r, server, "sent a malformed authentication request", "backend_bad_message");
      bad.cause = Cause::bad_request;
      return bad;
    }
    case LoginRefusal::only_plus_offered: return only_plus_refusal(c, client_tls, r, server);
    case LoginRefusal::client_chose_plus:
    case LoginRefusal::client_could_bind: break;
  }
  return binding_refusal(c, client_tls, r, server, relay.refusal == LoginRefusal::client_chose_plus);
}

// The client's answer did not come (g).
Refusal client_gave_up(const Conn& c, Got g, const std::string& why, const LoginRelay& relay, bool server_tls,
                       const Route& r, const Server& server) {
  const bool client_tls = c.client.tls != nullptr;
  const std::string note = binding_gave_up_note(c, client_tls, relay.sasl_offered && client_tls && !server_tls,
                                                relay.awaiting_sasl_choice && relay.plus_withheld, r, server);
  return {Cause::silent, g == Got::timeout ? "timeout" : "client_closed",
          fmt::format("the client {} during authentication{}", g == Got::timeout ? "sent nothing in time" : why, note)};
}

// Drives LoginRelay (session/pg_auth) over the two legs until ReadyForQuery.
awaitable<Refused> relay_login(Conn& c, Upstream& up, const Route& r, CancelKeys::Entry& key) {
  const Server& server = *up.server;
  const auto deadline = net::Clock::now() + c.entry.ep.client_hello_timeout;
  LoginRelay relay;
  relay.binding_can_hold = same_certificate(c.client.tls.get(), up.leg.tls.get());
  wp::Bytes msg;
  std::string why;
  for (;;) {
    if (const Got g = co_await read_message(up.leg, deadline, msg, why); g != Got::done)
      co_return server_lost(r, server,
                            g == Got::timeout ? "did not answer in time during the login" : why + " during the login",
                            g == Got::timeout ? "timeout" : "backend_closed");
    const LoginStep step = relay.on_server(msg);
    if (step == LoginStep::register_key)
      key = cancel_keys().add(relay.key,
                              {server.address, server.at, std::min(server.lb->dial_timeout, net::Duration(2000)),
                               server.lb->proxy_protocol});
    if (step == LoginStep::read_server || step == LoginStep::register_key) continue;
    if (step == LoginStep::refuse) co_return relay_refusal(c, relay, c.client.tls != nullptr, r, server);
    if (step == LoginStep::server_refused)
      co_return answered("backend_refused",
                         fmt::format("server {} refused user \"{}\": {} (SQLSTATE {})", server.address, c.open.user,
                                     relay.error.get('M'), relay.error.get('C')),
                         relay.take_pending());
    const wp::Bytes out = relay.take_pending();
    if (!co_await write_bytes(c.client, out, deadline))
      co_return client_gone(step == LoginStep::ready ? "the client went away during the login"
                                                     : "the client went away during authentication");
    if (step == LoginStep::ready) co_return std::nullopt;
    if (const Got g = co_await read_message(c.client, deadline, msg, why); g != Got::done)
      co_return client_gave_up(c, g, why, relay, up.leg.tls != nullptr, r, server);
    if (relay.on_client(msg) == LoginStep::refuse)
      co_return relay_refusal(c, relay, c.client.tls != nullptr, r, server);
    if (!co_await write_bytes(up.leg, msg, deadline))
      co_return server_lost(r, server, "closed during authentication", "backend_closed");
  }
}

}  // namespace

awaitable<Refused> open_passthrough(Conn&, const Route& r, Upstream& up) {
  const auto deadline = net::Clock::now() + up.server->lb->dial_timeout;
  const wp::Bytes request = wp::encode_ssl_request();
  std::string said = "closed the connection";
  const bool asked = up.early_sent == request.size() ||
                     co_await write_bytes(up.leg, std::span(request).subspan(up.early_sent), deadline);
  up.early_sent = 0;  // what went with the connect was snigate's, not the client's
  if (!asked || !co_await ask_for_tls(up, deadline, said)) co_return no_tls_from(r, *up.server, said);
  r.service->postgres_passthrough.store(true, std::memory_order_relaxed);
  co_return std::nullopt;
}

awaitable<Refused> open_login(Conn& c, const Route& r, Upstream& up, const wp::StartupMessage& sm) {
  if (Refused s = co_await secure_login_server(c, r, up)) co_return s;
  const wp::Bytes startup = wp::encode_startup(sm);
  if (!co_await write_bytes(up.leg, startup, net::Clock::now() + up.server->lb->dial_timeout))
    co_return server_lost(r, *up.server, "closed before the login", "backend_closed");
  auto key = std::make_shared<CancelKeys::Entry>();
  c.held = key;  // a cancel can find this session's server until the connection ends
  if (Refused s = co_await relay_login(c, up, r, *key)) co_return s;
  const std::string* db = sm.get("database");
  c.rec.detail = fmt::format("user {}, database {}", c.open.user, db ? *db : c.open.user);
  co_return std::nullopt;
}

namespace {

// SQLSTATEs snigate answers with.
std::string_view sqlstate(Cause cause) {
  switch (cause) {
    case Cause::timeout:
    case Cause::lost: return "08006";           // connection failure
    case Cause::unknown_name: return "08004";   // server rejected establishment of connection
    case Cause::denied:
    case Cause::not_allowed: return "28000";    // invalid authorization specification
    case Cause::too_many: return "53300";       // too many connections
    case Cause::unreachable: return "08001";    // unable to establish connection
    case Cause::not_supported: return "0A000";  // feature not supported
    default: return "08P01";                    // protocol violation
  }
}

}  // namespace

wp::Bytes error_response(const Refusal& r) {
  return wp::encode_error("FATAL", sqlstate(r.cause), "snigate: " + r.message, r.hint);
}

awaitable<bool> refuse_in_tls(Conn& c, const wp::Bytes& err) {
  // The refusal may come after a dial that used up clientHelloTimeout.
  c.hello_deadline = std::max(c.hello_deadline, net::Clock::now() + net::Duration(2000));
  if (Refused failed = co_await secure_client(c, *c.snap.options.at("default"), c.rec.router)) {
    if (failed->cause == Cause::unknown_name) co_await send_alert(c.client.sock, alert_for(failed->cause));
    else c.rec.detail += " (the client did not accept snigate's TLS to read this)";
    co_return false;
  }
  // Read the StartupMessage first: closing with unread input resets the
  // connection and can destroy the answer.
  wp::Bytes packet;
  std::string why;
  co_await read_startup_packet(c.client, net::Clock::now() + net::Duration(1000), packet, why);
  co_await write_bytes(c.client, err, net::Clock::now() + net::Duration(1000));
  co_return true;
}

}  // namespace snigate::session::pg
