#include "session/pg_login.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "net/linger.hpp"
#include "session/backend.hpp"
#include "session/login_name.hpp"
#include "session/options_check.hpp"
#include "session/pg_auth.hpp"
#include "session/pg_cancel.hpp"
#include "session/refuse.hpp"

namespace snigate::session::pg {

namespace {

using net::awaitable;
using net::tcp;

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

// The server's read failed during the login.
wp::Bytes server_lost(Conn& c, const Route& r, const Server& server, Got g, const std::string& why) {
  return refusal(c, kConnectionFailure,
                 fmt::format("snigate: router {}: server {} {} during the login", r.name, server.address,
                             g == Got::timeout ? "did not answer in time" : why),
                 g == Got::timeout ? "timeout" : "backend_closed");
}

// snigate's ErrorResponse for the login relay's refusal.
wp::Bytes relay_refusal(Conn& c, const LoginRelay& relay, bool client_tls, const Route& r, const Server& server) {
  switch (relay.refusal) {
    case Refusal::pending_too_large:
      return refusal(c, kConnectionFailure,
                     fmt::format("snigate: router {}: server {} sent more than {} KiB during the login without "
                                 "asking the client anything",
                                 r.name, server.address, kMaxLoginPending / 1024),
                     "backend_bad_message");
    case Refusal::malformed_authentication:
      return refusal(c, kProtocolViolation,
                     fmt::format("snigate: router {}: server {} sent a malformed authentication request", r.name,
                                 server.address),
                     "backend_bad_message");
    case Refusal::only_plus_offered:
      return only_plus_refusal(c, client_tls, r, server);
    case Refusal::client_chose_plus:
    case Refusal::client_could_bind:
      break;
  }
  return binding_refusal(c, client_tls, r, server, relay.refusal == Refusal::client_chose_plus);
}

// Sends the client what the server said so far. false: the client went away.
awaitable<bool> flush_to_client(Conn& c, Leg& cl, LoginRelay& relay, net::Clock::time_point deadline,
                                std::string_view during) {
  const wp::Bytes out = relay.take_pending();
  if (co_await write_bytes(cl, out, deadline)) co_return true;
  refuse(c, "client_closed", fmt::format("the client went away during {}", during));
  co_return false;
}

// The client has the server's ErrorResponse: log it and close.
awaitable<void> end_server_refused(Conn& c, Leg& cl, const LoginRelay& relay, const Server& server,
                                   const std::string& user) {
  refuse(c, "backend_refused",
         fmt::format("server {} refused user \"{}\": {} (SQLSTATE {})", server.address, user, relay.error.get('M'),
                     relay.error.get('C')));
  log_refusal(c);
  co_await net::close_after_reply(c.client, cl.tls);
}

// The client's answer did not come (g).
void client_gave_up(Conn& c, Got g, const std::string& why, const LoginRelay& relay, bool client_tls,
                    bool server_tls, const Route& r, const Server& server) {
  const std::string note = binding_gave_up_note(c, client_tls, relay.sasl_offered && client_tls && !server_tls,
                                                relay.awaiting_sasl_choice && relay.plus_withheld, r, server);
  refuse(c, g == Got::timeout ? "timeout" : "client_closed",
         fmt::format("the client {} during authentication{}", g == Got::timeout ? "sent nothing in time" : why, note));
  log_refusal(c);
}

// Drives LoginRelay (session/pg_auth) over the two legs. true: ReadyForQuery
// reached.
awaitable<bool> relay_login(Conn& c, Leg& cl, Upstream& up, const Route& r, const std::string& user,
                            CancelKeys::Entry& key) {
  const Server& server = *up.server;
  const auto deadline = net::Clock::now() + c.entry.ep.client_hello_timeout;
  LoginRelay relay;
  relay.binding_can_hold = same_certificate(cl.tls, up.tls.get());
  wp::Bytes msg, err;
  std::string why;
  for (;;) {
    if (const Got g = co_await read_message(up.leg, deadline, msg, why); g != Got::done) {
      err = server_lost(c, r, server, g, why);
      break;
    }
    const Step step = relay.on_server(msg);
    if (step == Step::register_key)
      key = cancel_keys().add(relay.key,
                              {server.address, server.at, std::min(r.service->dial_timeout, net::Duration(2000))});
    if (step == Step::read_server || step == Step::register_key) continue;
    if (step == Step::refuse) {
      err = relay_refusal(c, relay, cl.tls != nullptr, r, server);
      break;
    }
    if (!co_await flush_to_client(c, cl, relay, deadline, step == Step::ask_client ? "authentication" : "the login"))
      co_return false;
    if (step == Step::ready) co_return true;
    if (step == Step::server_refused) {
      co_await end_server_refused(c, cl, relay, server, user);
      co_return false;
    }
    if (const Got g = co_await read_message(cl, deadline, msg, why); g != Got::done) {
      client_gave_up(c, g, why, relay, cl.tls != nullptr, up.tls != nullptr, r, server);
      co_return false;
    }
    if (relay.on_client(msg) == Step::refuse) {
      err = relay_refusal(c, relay, cl.tls != nullptr, r, server);
      break;
    }
    if (!co_await write_bytes(up.leg, msg, deadline)) {
      err = refusal(c, kConnectionFailure,
                    fmt::format("snigate: router {}: server {} closed during authentication", r.name, server.address),
                    "backend_closed");
      break;
    }
  }
  co_await answer(cl, err);
  co_return false;
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
