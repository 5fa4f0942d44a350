#include "session/pg_login.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "net/linger.hpp"
#include "session/backend.hpp"
#include "session/login_name.hpp"
#include "session/options_check.hpp"
#include "session/pg_cancel.hpp"
#include "session/refuse.hpp"

namespace snigate::session::pg {

namespace {

using net::awaitable;
using net::tcp;

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
                     : c.sni.empty() ? "the client's TLS ends at snigate, with the default certificate (no SNI)"
                                     : "the client's TLS ends at snigate, with a certificate other than the server's",
                     server.address);
}

std::string binding_would_hold(const Conn& c, bool client_tls) {
  return fmt::format("binding holds only when the client's TLS reaches the server: a passthrough router "
                     "(tls.passthrough){}, or a router that presents the server's own certificate and key{}",
                     c.sni.empty() ? ", which needs the client's SNI (sslsni=1)" : "",
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

wp::Bytes only_plus_refusal(Conn& c, bool client_tls, const Route& r, const Server& server) {
  return refusal(c, kAuthSpec,
                 fmt::format("snigate: {}; server {} offers no SASL mechanism other than {}",
                             binding_cannot_hold_why(c, client_tls, r, server), server.address, kScramPlus),
                 "channel_binding", binding_would_hold(c, client_tls));
}

// The client answered the offer snigate withheld PLUS from by binding anyway,
// or with the GS2 flag 'y' ("I could bind"), which the server, able to bind,
// rejects as a downgrade (RFC 5802); it is right to, snigate being the party
// in the middle.
wp::Bytes binding_refusal(Conn& c, bool client_tls, const Route& r, const Server& server, bool chose_plus) {
  const std::string message = fmt::format(
      "snigate: {}; {}", binding_cannot_hold_why(c, client_tls, r, server),
      chose_plus ? "the client chose SCRAM-SHA-256-PLUS anyway"
                 : "the client can bind and so says it was not offered SCRAM-SHA-256-PLUS, which the server, able "
                   "to bind, rejects as a downgrade");
  const std::string hint = "connect with channel_binding=disable; " + binding_would_hold(c, client_tls);
  return refusal(c, kAuthSpec, message, "channel_binding", hint, message + "; " + hint);
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

std::string no_route_message(const Conn& c, std::string_view name, bool from_user) {
  if (name.empty())
    return fmt::format(
        "snigate: the client sent neither SNI nor a user name of the form user@host, so entry point {} cannot "
        "choose a server",
        c.entry.ep.name);
  return fmt::format("snigate: no route on entry point {} for \"{}\" (from the {})", c.entry.ep.name, name,
                     from_user ? "user name's @host part" : "client's SNI");
}

// The route for name, or nullptr with err set to the refusal.
const Route* route(Conn& c, bool client_tls, const std::string& name, bool from_user, wp::Bytes& err) {
  // Routers of a postgres entry point all have tls; plaintext is a per-router opt-in.
  c.facts.tls = true;
  c.facts.sni = name;
  c.facts.alpn = c.alpn;
  c.rec.sni = name;
  const Route* r = match(c.entry, c.facts);
  if (!r) {
    const std::string_view hint =
        name.empty() ? "connect with TLS to a host name (libpq 14+ sends it as SNI: sslmode=require, sslsni=1), "
                       "or log in as user@<server name>"
                     : "check the host name";
    err = refusal(c, kNoRoute, no_route_message(c, name, from_user), "no_route", hint,
                  explain_no_route(c.entry, c.facts));
    return nullptr;
  }
  c.rec.router = r->name;
  c.rec.service = r->service->name;
  if (r->passthrough) {
    err = refusal(c, kNoRoute,
                  fmt::format("snigate: router {} passes TLS through to its server, but this client sent no SNI, so "
                              "snigate had to end TLS itself to read user@host",
                              r->name),
                  "no_route", "connect with a host name and sslsni=1 (the default of libpq 14+)");
    return nullptr;
  }
  if (!client_tls && !r->pg_allow_plaintext) {
    err = refusal(c, kAuthSpec,
                  fmt::format("snigate: router {} requires TLS; the router does not set postgres.allowPlaintext",
                              r->name),
                  "plaintext_refused", "connect with sslmode=require (or verify-full)");
    return nullptr;
  }
  if (const std::string why = options_mismatch(c, *r); !why.empty()) {
    err = refusal(c, kAuthSpec, "snigate: " + why, "tls_options_mismatch",
                  fmt::format("connect to the server's host name with sslsni=1 (the default of libpq 14+), or give "
                              "router {} the tls.options that clients without SNI get",
                              r->name));
    return nullptr;
  }
  return r;
}

// snigate's side of the connection to the server. Not movable: leg refers to
// sock.
struct Upstream {
  explicit Upstream(const tcp::socket::executor_type& ex) : sock(ex) {}
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  tcp::socket sock;
  std::unique_ptr<net::TlsStream> tls;
  Leg leg{sock, nullptr, {}};
  const Server* server = nullptr;
};

// Connects a server of the route's service, with TLS when the server is
// marked tls. false: refused (the client has its ErrorResponse).
awaitable<bool> open_server(Conn& c, Leg& cl, const Route& r, const std::string& name, Upstream& up) {
  const Service& svc = *r.service;
  std::string why;
  up.server = co_await connect_service(svc, up.sock, why);
  if (!up.server) {
    const wp::Bytes err = refusal(c, kUnreachable,
                         fmt::format("snigate: router {}: service {}: no server answered: {}", r.name, svc.name, why),
                         "backend_unreachable");
    co_await answer(cl, err);
    co_return false;
  }
  const Server& server = *up.server;
  c.rec.server = server.address;
  if (!server.tls) co_return true;

  const auto deadline = net::Clock::now() + svc.dial_timeout;
  const wp::Bytes ssl_request = wp::encode_ssl_request();
  wp::Bytes reply;
  Got g = Got::closed;
  if (co_await write_bytes(up.leg, ssl_request, deadline)) g = co_await read_exact(up.leg, 1, deadline, reply, why);
  if (g != Got::done || reply[0] != 'S') {
    const std::string said = g != Got::done  ? why
                             : reply[0] == 'N' ? "answered N: it does not accept TLS"
                                                : fmt::format("answered {:#04x}, not S or N", reply[0]);
    const wp::Bytes err = refusal(c, kUnreachable,
        fmt::format("snigate: router {}: server {} {} to snigate's SSLRequest", r.name, server.address, said),
        "backend_tls_failed");
    co_await answer(cl, err);
    co_return false;
  }
  up.tls = co_await start_backend_tls(svc, server, up.sock, name, why);
  if (!up.tls) {
    const wp::Bytes err = refusal(c, kUnreachable,
                         fmt::format("snigate: router {}: service {}: {}", r.name, svc.name, why),
                         "backend_tls_failed");
    co_await answer(cl, err);
    co_return false;
  }
  up.leg.tls = up.tls.get();
  co_return true;
}

// Server messages go to the client unchanged, batched until the client must
// answer; client answers go to the server unchanged. snigate only reads:
// BackendKeyData (so it can route a later cancel), ErrorResponse (for its
// log), and the SCRAM mechanism the client picks, to stop a channel binding
// that cannot hold with a clear error instead of the server's puzzling one.
// true: ReadyForQuery reached.
awaitable<bool> relay_login(Conn& c, Leg& cl, Upstream& up, const Route& r, const std::string& user,
                            CancelKeys::Entry& key) {
  const Server& server = *up.server;
  const auto deadline = net::Clock::now() + c.entry.ep.client_hello_timeout;
  wp::Bytes msg, pending;
  std::string why;
  bool sasl_offered = false, awaiting_sasl_choice = false, binding_cannot_hold = false;
  for (;;) {
    const Got g = co_await read_message(up.leg, deadline, msg, why);
    if (g != Got::done) {
      const wp::Bytes err = refusal(c, kConnectionFailure,
                           fmt::format("snigate: router {}: server {} {} during the login", r.name, server.address,
                                       g == Got::timeout ? "did not answer in time" : why),
                           g == Got::timeout ? "timeout" : "backend_closed");
      co_await answer(cl, err);
      co_return false;
    }
    const char type = static_cast<char>(msg[0]);
    const wp::ByteView body(msg.data() + 5, msg.size() - 5);
    if (pending.size() + msg.size() > kMaxLoginPending) {
      const wp::Bytes err = refusal(
          c, kConnectionFailure,
          fmt::format("snigate: router {}: server {} sent more than {} KiB during the login without asking the client "
                      "anything",
                      r.name, server.address, kMaxLoginPending / 1024),
          "backend_bad_message");
      co_await answer(cl, err);
      co_return false;
    }
    pending.insert(pending.end(), msg.begin(), msg.end());
    if (type == 'K') {
      wp::CancelRequest k;
      if (wp::parse_backend_key_data(body, k) == wp::Status::complete)
        key = cancel_keys().add(k, {server.address, server.at, std::min(r.service->dial_timeout, net::Duration(2000))});
      continue;
    }
    if (type == 'E' || type == 'Z') {
      if (!co_await write_bytes(cl, pending, deadline)) {
        refuse(c, "client_closed", "the client went away during the login");
        co_return false;
      }
      if (type == 'Z') co_return true;
      wp::ErrorFields e;
      wp::parse_error_fields(body, e);
      refuse(c, "backend_refused",
             fmt::format("server {} refused user \"{}\": {} (SQLSTATE {})", server.address, user, e.get('M'),
                         e.get('C')));
      log_refusal(c);
      co_await net::close_after_reply(c.client, cl.tls);
      co_return false;
    }
    if (type != 'R') continue;  // ParameterStatus, NoticeResponse, NegotiateProtocolVersion

    wp::Authentication auth;
    if (wp::parse_authentication(body, auth) != wp::Status::complete) {
      const wp::Bytes err = refusal(c, kProtocolViolation,
                           fmt::format("snigate: router {}: server {} sent a malformed authentication request", r.name,
                                       server.address),
                           "backend_bad_message");
      co_await answer(cl, err);
      co_return false;
    }
    if (auth.code == wp::kAuthSasl) {
      sasl_offered = awaiting_sasl_choice = true;
      binding_cannot_hold = std::ranges::find(auth.mechanisms, kScramPlus) != auth.mechanisms.end() &&
                            !same_certificate(cl.tls, up.tls.get());
      // The client would bind to snigate's certificate (or, without TLS,
      // refuse PLUS outright): offered only what can succeed, libpq's
      // channel_binding=prefer logs in without binding.
      if (binding_cannot_hold && !withhold_scram_plus(auth, msg.size(), pending)) {
        const wp::Bytes err = only_plus_refusal(c, cl.tls != nullptr, r, server);
        co_await answer(cl, err);
        co_return false;
      }
    }
    if (!wp::expects_client_reply(auth.code)) continue;
    if (!co_await write_bytes(cl, pending, deadline)) {
      refuse(c, "client_closed", "the client went away during authentication");
      co_return false;
    }
    pending.clear();
    const Got cg = co_await read_message(cl, deadline, msg, why);
    if (cg != Got::done) {
      const std::string note = binding_gave_up_note(c, cl.tls != nullptr, sasl_offered && cl.tls && !up.tls,
                                                    awaiting_sasl_choice && binding_cannot_hold, r, server);
      refuse(c, cg == Got::timeout ? "timeout" : "client_closed",
             fmt::format("the client {} during authentication{}", cg == Got::timeout ? "sent nothing in time" : why,
                         note));
      log_refusal(c);
      co_return false;
    }
    if (awaiting_sasl_choice) {
      awaiting_sasl_choice = false;
      wp::SaslInitialResponse first;
      const wp::ByteView reply(msg.data() + 5, msg.size() - 5);
      if (binding_cannot_hold && msg[0] == 'p' &&
          wp::parse_sasl_initial_response(reply, first) == wp::Status::complete &&
          (first.mechanism == kScramPlus || first.gs2_flag != 'n')) {
        const wp::Bytes err = binding_refusal(c, cl.tls != nullptr, r, server, first.mechanism == kScramPlus);
        co_await answer(cl, err);
        co_return false;
      }
    }
    if (!co_await write_bytes(up.leg, msg, deadline)) {
      const wp::Bytes err = refusal(c, kConnectionFailure,
                           fmt::format("snigate: router {}: server {} closed during authentication", r.name,
                                       server.address),
                           "backend_closed");
      co_await answer(cl, err);
      co_return false;
    }
  }
}

}  // namespace

awaitable<void> login(Conn& c, Leg& cl, const wp::Bytes& packet) {
  c.rec.mode = "postgres";
  wp::StartupMessage sm;
  std::string why;
  if (wp::parse_startup(packet, sm, &why) != wp::Status::complete) {
    const wp::Bytes err = refusal(c, kProtocolViolation, "snigate: malformed StartupMessage: " + why, "bad_request");
    co_await answer(cl, err);
    co_return;
  }
  const std::string* sent_user = sm.get("user");
  if (!sent_user || sent_user->empty()) {
    const wp::Bytes err = refusal(c, kAuthSpec, "snigate: no user name in the StartupMessage", "bad_request");
    co_await answer(cl, err);
    co_return;
  }
  // With SNI the name is known and the user name is the client's business
  // (role names may contain '@'); without it (or with an IP address as SNI,
  // which names no host), user@host names the server and the server sees
  // only the user.
  std::string user = *sent_user;
  std::string name = c.sni;
  bool from_user = false;
  if (const wp::UserHost uh = wp::user_at_host(user); routes_by_user_host(c.sni, uh.host)) {
    name = lower_ascii(uh.host);
    user = std::string(uh.user);
    wp::strip_host_from_login(sm, user);
    from_user = true;
  }
  wp::Bytes refused;
  const Route* r = route(c, cl.tls != nullptr, name, from_user, refused);
  if (!r) {
    co_await answer(cl, refused);
    co_return;
  }

  Upstream up(c.client.get_executor());
  if (!co_await open_server(c, cl, *r, name, up)) co_return;
  const wp::Bytes startup = wp::encode_startup(sm);
  if (!co_await write_bytes(up.leg, startup, net::Clock::now() + r->service->dial_timeout)) {
    const wp::Bytes err = refusal(c, kConnectionFailure,
                         fmt::format("snigate: router {}: server {} closed before the login", r->name,
                                     up.server->address),
                         "backend_closed");
    co_await answer(cl, err);
    co_return;
  }
  auto key = std::make_shared<CancelKeys::Entry>();
  c.held = key;  // a cancel can find this session's server until the connection ends
  if (!co_await relay_login(c, cl, up, *r, user, *key)) co_return;

  const std::string* db = sm.get("database");
  c.rec.detail = fmt::format("user {}, database {}", user, db ? *db : user);
  net::RelayLeg server{std::move(up.sock), std::move(up.tls)};
  co_await join(c, server, cl.buf, up.leg.buf, *r);
}

}  // namespace snigate::session::pg
