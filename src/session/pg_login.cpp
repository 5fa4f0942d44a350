#include "session/pg_login.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "net/linger.hpp"
#include "session/client_tls.hpp"
#include "session/leg.hpp"
#include "session/pg_cancel.hpp"
#include "session/pg_leg.hpp"

namespace snigate::session::pg {

namespace {

using net::awaitable;

constexpr std::string_view kScramPlus = "SCRAM-SHA-256-PLUS";

// What the server may send before the client must answer, held until then.
// A real login sends a few KiB at most (ParameterStatus, BackendKeyData, the
// odd notice) around one authentication request, which may itself be as large
// as a setup message can be (a GSSAPI token): twice that leaves room for both
// and stops a server that never asks the client anything from growing it.
constexpr std::size_t kMaxLoginPending = 2 * wp::kMaxSetupMessage;

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
  return fmt::format("SCRAM channel binding cannot hold through router {}: {}, and server {} binds to the "
                     "certificate of snigate's TLS link to it",
                     r.name,
                     !client_tls     ? "the client has no TLS session (postgres.allowPlaintext)"
                     : c.open.sni.empty() ? "the client's TLS ends at snigate, with the default certificate (no SNI)"
                                     : "the client's TLS ends at snigate, with a certificate other than the server's",
                     server.address);
}

std::string binding_would_hold(const Conn& c, bool client_tls) {
  return fmt::format("binding holds only when the client's TLS reaches the server: a passthrough router "
                     "(tls.passthrough){}, or a router that presents the server's own certificate and key{}",
                     c.open.sni.empty() ? ", which needs the client's SNI (sslsni=1)" : "",
                     !client_tls ? " to a TLS client" : "");
}

// Takes SCRAM-SHA-256-PLUS out of the offer at the end of pending (the
// server's AuthenticationSASL, offer_size bytes). false: nothing else is
// offered, and pending is left as it was.
bool withhold_scram_plus(wp::Authentication& offer, std::size_t offer_size, wp::Bytes& pending) {
  std::erase(offer.mechanisms, kScramPlus);
  if (offer.mechanisms.empty()) return false;
  const wp::Bytes rest = wp::encode_authentication_sasl(offer.mechanisms);
  pending.resize(pending.size() - offer_size);
  pending.insert(pending.end(), rest.begin(), rest.end());
  return true;
}

Refusal only_plus_refusal(const Conn& c, bool client_tls, const Route& r, const Server& server) {
  return {Cause::denied, "channel_binding", fmt::format("{}; server {} offers no SASL mechanism other than {}",
                                 binding_cannot_hold_why(c, client_tls, r, server), server.address, kScramPlus), binding_would_hold(c, client_tls)};
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
  return {Cause::denied, "channel_binding", std::move(message), "connect with channel_binding=disable; " + binding_would_hold(c, client_tls)};
}

// For the log when the client leaves after the mechanism list: libpq with
// channel_binding=require stops there when it was offered no PLUS.
std::string binding_gave_up_note(const Conn& c, bool client_tls, bool plain_link, bool withheld, const Route& r,
                                 const Server& server) {
  if (plain_link)
    return fmt::format(" (a client that requires channel binding gives up here: snigate's link to server {} is "
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
  said = g != Got::done     ? why
         : reply[0] == 'N' ? "answered N (it does not accept TLS)"
                           : fmt::format("answered {:#04x}, not S or N", reply[0]);
  co_return false;
}

Refusal no_tls_from(const Route& r, const Server& server, const std::string& said) {
  return {Cause::unreachable, "backend_tls_failed", fmt::format("router {}: server {} {} to snigate's SSLRequest", r.name, server.address, said), "", spdlog::level::warn};
}

// The server's TLS for a client whose TLS ended at snigate, when the server
// is marked tls: its answer to snigate's SSLRequest, then the handshake.
awaitable<Step> secure_login_server(const Conn& c, const Route& r, Upstream& up) {
  if (!up.server->tls) co_return std::nullopt;
  const auto deadline = net::Clock::now() + r.service->dial_timeout;
  const wp::Bytes ssl_request = wp::encode_ssl_request();
  std::string said = "closed the connection";
  if (!co_await write_bytes(up.leg, ssl_request, deadline) || !co_await ask_for_tls(up, deadline, said))
    co_return no_tls_from(r, *up.server, said);
  co_return co_await secure_server(r, up, c.facts.sni);
}

// Server messages go to the client unchanged, batched until the client must
// answer; client answers go to the server unchanged. snigate only reads:
// BackendKeyData (so it can route a later cancel), ErrorResponse (for its
// log), and the SCRAM mechanism the client picks, to stop a channel binding
// that cannot hold with a clear error instead of the server's puzzling one.
awaitable<Step> relay_login(Conn& c, Upstream& up, const Route& r, CancelKeys::Entry& key) {
  Leg& cl = c.client;
  const Server& server = *up.server;
  const auto deadline = net::Clock::now() + c.entry.ep.client_hello_timeout;
  wp::Bytes msg, pending;
  std::string why;
  bool sasl_offered = false, awaiting_sasl_choice = false, binding_cannot_hold = false;
  for (;;) {
    const Got g = co_await read_message(up.leg, deadline, msg, why);
    if (g != Got::done)
      co_return server_lost(r, server, g == Got::timeout ? "did not answer in time during the login" : why + " during the login",
                            g == Got::timeout ? "timeout" : "backend_closed");
    const char type = static_cast<char>(msg[0]);
    const wp::ByteView body(msg.data() + 5, msg.size() - 5);
    if (pending.size() + msg.size() > kMaxLoginPending)
      co_return server_lost(r, server,
                            fmt::format("sent more than {} KiB during the login without asking the client anything",
                                        kMaxLoginPending / 1024),
                            "backend_bad_message");
    pending.insert(pending.end(), msg.begin(), msg.end());
    if (type == 'K') {
      wp::CancelRequest k;
      if (wp::parse_backend_key_data(body, k) == wp::Status::complete)
        key = cancel_keys().add(k, {server.address, server.at, std::min(r.service->dial_timeout, net::Duration(2000))});
      continue;
    }
    if (type == 'Z') {
      if (!co_await write_bytes(cl, pending, deadline)) co_return client_gone("the client went away during the login");
      co_return std::nullopt;
    }
    if (type == 'E') {
      wp::ErrorFields e;
      wp::parse_error_fields(body, e);
      co_return answered("backend_refused", fmt::format("server {} refused user \"{}\": {} (SQLSTATE {})", server.address,
                                               c.open.user, e.get('M'), e.get('C')),
                         std::move(pending));
    }
    if (type != 'R') continue;  // ParameterStatus, NoticeResponse, NegotiateProtocolVersion

    wp::Authentication auth;
    if (wp::parse_authentication(body, auth) != wp::Status::complete) {
      Refusal bad = server_lost(r, server, "sent a malformed authentication request", "backend_bad_message");
      bad.cause = Cause::bad_request;
      co_return bad;
    }
    if (auth.code == wp::kAuthSasl) {
      sasl_offered = awaiting_sasl_choice = true;
      binding_cannot_hold = std::ranges::find(auth.mechanisms, kScramPlus) != auth.mechanisms.end() &&
                            !same_certificate(cl.tls.get(), up.leg.tls.get());
      // The client would bind to snigate's certificate (or, without TLS,
      // refuse PLUS outright): offered only what can succeed, libpq's
      // channel_binding=prefer logs in without binding.
      if (binding_cannot_hold && !withhold_scram_plus(auth, msg.size(), pending))
        co_return only_plus_refusal(c, cl.tls != nullptr, r, server);
    }
    if (!wp::expects_client_reply(auth.code)) continue;
    if (!co_await write_bytes(cl, pending, deadline))
      co_return client_gone("the client went away during authentication");
    pending.clear();
    const Got cg = co_await read_message(cl, deadline, msg, why);
    if (cg != Got::done) {
      const std::string note = binding_gave_up_note(c, cl.tls != nullptr, sasl_offered && cl.tls && !up.leg.tls,
                                                    awaiting_sasl_choice && binding_cannot_hold, r, server);
      co_return Refusal{Cause::silent, cg == Got::timeout ? "timeout" : "client_closed", fmt::format("the client {} during authentication{}",
                                               cg == Got::timeout ? "sent nothing in time" : why, note)};
    }
    if (awaiting_sasl_choice) {
      awaiting_sasl_choice = false;
      wp::SaslInitialResponse first;
      const wp::ByteView reply(msg.data() + 5, msg.size() - 5);
      if (binding_cannot_hold && msg[0] == 'p' &&
          wp::parse_sasl_initial_response(reply, first) == wp::Status::complete &&
          (first.mechanism == kScramPlus || first.gs2_flag != 'n'))
        co_return binding_refusal(c, cl.tls != nullptr, r, server, first.mechanism == kScramPlus);
    }
    if (!co_await write_bytes(up.leg, msg, deadline))
      co_return server_lost(r, server, "closed during authentication", "backend_closed");
  }
}

}  // namespace

awaitable<Step> open_passthrough(Conn&, const Route& r, Upstream& up) {
  const auto deadline = net::Clock::now() + r.service->dial_timeout;
  const wp::Bytes request = wp::encode_ssl_request();
  std::string said = "closed the connection";
  const bool asked = up.early_sent == request.size() ||
                     co_await write_bytes(up.leg, std::span(request).subspan(up.early_sent), deadline);
  up.early_sent = 0;  // what went with the connect was snigate's, not the client's
  if (!asked || !co_await ask_for_tls(up, deadline, said)) co_return no_tls_from(r, *up.server, said);
  r.service->postgres_passthrough.store(true, std::memory_order_relaxed);
  co_return std::nullopt;
}

awaitable<Step> open_login(Conn& c, const Route& r, Upstream& up, const wp::StartupMessage& sm) {
  if (Step s = co_await secure_login_server(c, r, up)) co_return s;
  const wp::Bytes startup = wp::encode_startup(sm);
  if (!co_await write_bytes(up.leg, startup, net::Clock::now() + r.service->dial_timeout))
    co_return server_lost(r, *up.server, "closed before the login", "backend_closed");
  auto key = std::make_shared<CancelKeys::Entry>();
  c.held = key;  // a cancel can find this session's server until the connection ends
  if (Step s = co_await relay_login(c, up, r, *key)) co_return s;
  const std::string* db = sm.get("database");
  c.rec.detail = fmt::format("user {}, database {}", c.open.user, db ? *db : c.open.user);
  co_return std::nullopt;
}

namespace {

// SQLSTATEs snigate answers with.
std::string_view sqlstate(Cause cause) {
  switch (cause) {
    case Cause::timeout:
    case Cause::lost: return "08006";  // connection failure
    case Cause::unknown_name: return "08004";  // server rejected establishment of connection
    case Cause::denied: return "28000";  // invalid authorization specification
    case Cause::unreachable: return "08001";  // unable to establish connection
    case Cause::not_supported: return "0A000";  // feature not supported
    default: return "08P01";  // protocol violation
  }
}

}  // namespace

wp::Bytes error_response(const Refusal& r) {
  return wp::encode_error("FATAL", sqlstate(r.cause), "snigate: " + r.message, r.hint);
}

awaitable<bool> refuse_in_tls(Conn& c, const wp::Bytes& err) {
  // The refusal may come after a dial that used up clientHelloTimeout.
  c.hello_deadline = std::max(c.hello_deadline, net::Clock::now() + net::Duration(2000));
  if (Step failed = co_await secure_client(c, *c.snap.options.at("default"), c.rec.router)) {
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
