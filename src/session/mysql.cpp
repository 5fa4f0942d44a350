#include "session/mysql.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cctype>

#include "net/linger.hpp"
#include "net/relay.hpp"
#include "session/backend.hpp"
#include "session/leg.hpp"
#include "session/login_name.hpp"
#include "session/mysql_auth.hpp"
#include "session/mysql_kill_filter.hpp"
#include "session/mysql_sessions.hpp"
#include "session/options_check.hpp"
#include "session/refuse.hpp"
#include "session/sniff.hpp"

namespace snigate::session {

namespace {

using net::awaitable;
using net::tcp;
namespace wm = wire::mysql;
using mysql::Step;

// What snigate's greeting says it is. The "5.5.5-" prefix is how MariaDB
// servers announce themselves (old MySQL replication clients required a 5.x
// version); clients read the real version from the server after login.
constexpr std::string_view kServerVersion = "5.5.5-10.11.0-snigate";
constexpr std::uint8_t kUtf8mb4GeneralCi = 45;

// A leg and the sequence id of its last packet. Each leg numbers its own
// packets: snigate renumbers what it passes from one to the other.
struct PacketLeg : Leg {
  std::uint8_t seq = 0;
};

enum class Got { packet, timeout, closed, bad };

// Reads one whole packet by the deadline. On a plain socket it reads no byte
// past the packet: what follows an SSLRequest is the client's ClientHello,
// which read_client_hello must find in the socket.
awaitable<Got> read_packet(PacketLeg& leg, net::Clock::time_point deadline, wm::Bytes& payload, std::string& why) {
  auto read = [&]() -> awaitable<Got> {
    for (;;) {
      wm::Packet p;
      const wm::Status st = wm::split_packet(leg.buf, p);
      if (st == wm::Status::complete) {
        payload.assign(p.payload.begin(), p.payload.end());
        leg.seq = p.header.seq;
        leg.buf.erase(leg.buf.begin(), leg.buf.begin() + static_cast<std::ptrdiff_t>(p.wire_size));
        co_return Got::packet;
      }
      if (st != wm::Status::need_more) {
        why = st == wm::Status::too_large ? fmt::format("a packet larger than {} bytes", wm::kMaxHandshakePayload)
                                          : "a malformed packet";
        co_return Got::bad;
      }
      std::size_t want = 16 * 1024;
      if (!leg.tls) {
        want = leg.buf.size() < wm::kHeaderSize
                   ? wm::kHeaderSize - leg.buf.size()
                   : wm::kHeaderSize + (leg.buf[0] | leg.buf[1] << 8 | leg.buf[2] << 16) - leg.buf.size();
      }
      const std::error_code ec = co_await read_some(leg, want, leg.buf);
      if (ec) {
        why = read_error(ec);
        co_return Got::closed;
      }
    }
  };
  auto r = co_await net::within(left(deadline), read());
  if (!r) {
    why = "sent nothing in time";
    co_return Got::timeout;
  }
  co_return *r;
}

// Frames payload with the leg's next sequence id.
awaitable<bool> write_packet(PacketLeg& leg, wm::ByteView payload, net::Clock::time_point deadline) {
  const wm::Bytes framed = wm::frame(++leg.seq, payload);
  co_return co_await write_bytes(leg, framed, deadline);
}

// Every refusal is an ERR packet in the client's protocol: refusal() records
// it and frames the packet; answer() sends it and closes. Two steps because
// every argument of a co_await'ed call here is a named object: GCC 12 can
// destroy class-type temporaries in a co_await expression twice.
// detail: for the log, when it says more than the client should see.
wm::Bytes refusal(Conn& c, PacketLeg& client, wm::ErrCode code, std::string_view message, std::string_view end,
                  std::string_view detail = {}) {
  refuse(c, std::string(end), std::string(detail.empty() ? message : detail));
  log_refusal(c);
  return wm::encode_err(code.code, code.sql_state, message, ++client.seq);
}

awaitable<void> answer(PacketLeg& client, const wm::Bytes& err) {
  co_await write_bytes(client, err, net::Clock::now() + net::Duration(1000));
  co_await net::close_after_reply(client.sock, client.tls);
}

// id: the connection id drivers will name in a KILL (next_session_id()).
wm::InitialHandshake greeting(std::uint32_t id) {
  wm::InitialHandshake hs;
  hs.server_version = kServerVersion;
  hs.connection_id = id;
  hs.scramble = wm::make_scramble();
  hs.capabilities = mysql::kOfferedCaps;
  hs.charset = kUtf8mb4GeneralCi;
  hs.status = wm::SERVER_STATUS_AUTOCOMMIT;
  hs.auth_plugin = wm::kNativePassword;
  return hs;
}

// After the greeting, until the HandshakeResponse41 is in hand (over TLS when
// the client asks for it). false: refused (already answered).
struct Login {
  wm::HandshakeResponse resp;
  std::unique_ptr<net::TlsStream> tls;
};

// The client's login did not arrive: the ERR to send, or nothing if it closed.
wm::Bytes login_failure(Conn& c, PacketLeg& cl, Got g, const std::string& why) {
  if (g == Got::closed) {
    refuse(c, "client_closed", "the client closed before logging in");
    return {};
  }
  if (g == Got::timeout)
    return refusal(
        c, cl, wm::kErrTimeout,
        fmt::format("snigate: no login within clientHelloTimeout ({} ms)", c.entry.ep.client_hello_timeout.count()),
        "timeout");
  return refusal(c, cl, wm::kErrBadHandshake, "snigate: bad handshake: " + why, "bad_handshake");
}

awaitable<bool> read_login(Conn& c, PacketLeg& cl, Login& out) {
  const auto& ep = c.entry.ep;
  wm::Bytes payload;
  std::string why;
  Got g = co_await read_packet(cl, c.hello_deadline, payload, why);
  if (g != Got::packet) {
    const wm::Bytes err = login_failure(c, cl, g, why);
    if (!err.empty()) co_await answer(cl, err);
    co_return false;
  }
  if (wm::is_ssl_request(payload)) {
    Sniffed s;
    co_await read_client_hello(c.client, left(c.hello_deadline), s);
    if (s.timed_out || s.status != wire::HelloStatus::complete) {
      // Not speaking MySQL any more, nor TLS: nothing the client could read.
      refuse(c,
             s.timed_out ? "timeout"
             : s.closed  ? "client_closed"
                         : "bad_hello",
             s.timed_out ? fmt::format("no ClientHello after the SSLRequest within clientHelloTimeout ({} ms)",
                                       ep.client_hello_timeout.count())
                         : "no valid ClientHello after the SSLRequest: " + s.error);
      log_refusal(c);
      co_return false;
    }
    c.sni = lower_ascii(s.hello.sni);
    c.alpn = s.hello.alpn();
    c.rec.tls = true;
    c.rec.sni = c.sni;  // logged even when the handshake fails
    c.rec.alpn = comma_joined(c.alpn);
    // The router is not known yet when the client sends no SNI (user@host
    // comes inside TLS): then the default tls.options apply. With an SNI, the
    // options of the router it selects.
    const tls::ServerOptions* options = c.snap.options.at("default").get();
    const Route* by_sni = nullptr;
    if (!c.sni.empty()) {
      Facts f = c.facts;
      f.tls = true;
      f.sni = c.sni;
      f.alpn = c.alpn;
      by_sni = match(c.entry, f);
      if (by_sni && by_sni->options) options = by_sni->options.get();
    }
    tls::SslPtr ssl = terminating_ssl(c.snap, *options, c.sni, why);
    if (!ssl) {
      refuse(c, "no_certificate", why);
      log_refusal(c);
      co_return false;
    }
    c.handshake_options = options;
    out.tls = std::make_unique<net::TlsStream>(c.client, std::move(ssl), std::move(s.bytes));
    const std::string_view router = by_sni ? std::string_view(by_sni->name) : std::string_view();
    if (!co_await client_handshake(c, *out.tls, router)) co_return false;
    cl.tls = out.tls.get();
    g = co_await read_packet(cl, c.hello_deadline, payload, why);
    if (g != Got::packet) {
      const wm::Bytes err = login_failure(c, cl, g, why);
      if (!err.empty()) co_await answer(cl, err);
      co_return false;
    }
  }
  if (wm::parse_handshake_response(payload, out.resp, &why) != wm::Status::complete) {
    const wm::Bytes err = refusal(c, cl, wm::kErrBadHandshake, "snigate: bad handshake: " + why, "bad_handshake");
    co_await answer(cl, err);
    co_return false;
  }
  if (!(out.resp.capabilities & wm::CLIENT_PLUGIN_AUTH)) {
    const wm::Bytes err =
        refusal(c, cl, wm::kErrNotSupported,
                "snigate: this client does not support authentication plugins (CLIENT_PLUGIN_AUTH), which "
                "snigate needs to let it answer the server's own challenge",
                "not_supported");
    co_await answer(cl, err);
    co_return false;
  }
  co_return true;
}

std::string no_route_message(const Conn& c, std::string_view name, bool from_user) {
  if (name.empty())
    return fmt::format(
        "snigate: the client sent neither SNI nor a user name of the form user@host, so entry point {} cannot "
        "choose a server; log in as user@<server name> (e.g. -u alice@db.example.com), or with a MySQL 8.1+ "
        "client pass --tls-sni-servername=<server name>",
        c.entry.ep.name);
  return fmt::format("snigate: no route on entry point {} for \"{}\" (from the {}); check the name", c.entry.ep.name,
                     name, from_user ? "user name's @host part" : "client's SNI");
}

awaitable<void> auth_lost(Conn& c, PacketLeg& cl, std::string_view router, std::string_view who, std::string_view why) {
  const wm::Bytes err = refusal(
      c, cl, wm::kErrTimeout,
      fmt::format("snigate: router {}: the {} did not complete authentication ({})", router, who, why), "auth_failed");
  co_await answer(cl, err);
}

// The chosen route, or nullptr after refusing: by the name (SNI, else the
// @host part of the user), and TLS unless the router allows plaintext.
const Route* route(Conn& c, PacketLeg& cl, const std::string& name, wm::Bytes& err) {
  c.facts.tls = true;  // routers of a mysql entry point all have tls; plaintext is a per-router opt-in
  c.facts.sni = name;
  c.facts.alpn = c.alpn;
  c.rec.sni = name;
  const Route* r = match(c.entry, c.facts);
  if (!r) {
    err = refusal(c, cl, wm::kErrNoRoute, no_route_message(c, name, name != c.sni), "no_route",
                  explain_no_route(c.entry, c.facts));
    return nullptr;
  }
  c.rec.router = r->name;
  c.rec.service = r->service->name;
  if (!cl.tls && !r->allow_plaintext) {
    err = refusal(c, cl, wm::kErrAccessDenied,
                  fmt::format("snigate: router {} requires TLS: connect with TLS (mariadb --ssl, mysql "
                              "--ssl-mode=REQUIRED); the router does not set mysql.allowPlaintext",
                              r->name),
                  "plaintext_refused");
    return nullptr;
  }
  if (const std::string why = options_mismatch(c, *r); !why.empty()) {
    err = refusal(c, cl, wm::kErrAccessDenied,
                  fmt::format("snigate: {}: send the router's name as SNI (mysql 8.1+ --tls-sni-servername=NAME; "
                              "PyMySQL and mysql2 send the host name they connect to), or give router {} the "
                              "tls.options that clients without SNI get",
                              why, r->name),
                  "tls_options_mismatch");
    return nullptr;
  }
  return r;
}

// The server's address as connected, which tells whether two sessions are on
// the same server whatever names their services gave it.
std::string server_endpoint(const tcp::socket& sock, const std::string& configured) {
  std::error_code ec;
  const tcp::endpoint ep = sock.remote_endpoint(ec);
  if (ec) return configured;
  return ep.address().is_v6() ? fmt::format("[{}]:{}", ep.address().to_string(), ep.port())
                              : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

// snigate's side of the connection to the server. Not movable: leg refers to
// sock.
struct Upstream {
  explicit Upstream(const tcp::socket::executor_type& ex) : sock(ex) {}
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  tcp::socket sock;
  std::unique_ptr<net::TlsStream> tls;
  PacketLeg leg{{sock, nullptr, {}}, 0};
  const Server* server = nullptr;
  wm::InitialHandshake greeting;
  std::uint64_t caps = 0;  // for the HandshakeResponse41
};

// Connects a server of the route's service, reads its greeting, agrees on
// capabilities and starts TLS when the server has tls: true. false: refused
// (the client has its ERR).
awaitable<bool> open_server(Conn& c, PacketLeg& cl, const Route& r, const wm::HandshakeResponse& resp,
                            const std::string& name, Upstream& up) {
  const Service& svc = *r.service;
  std::string why;
  up.server = co_await connect_service(svc, up.sock, why);
  if (!up.server) {
    const wm::Bytes err =
        refusal(c, cl, wm::kErrBackendUnreachable,
                fmt::format("snigate: router {}: service {}: no server answered: {}", r.name, svc.name, why),
                "backend_unreachable");
    co_await answer(cl, err);
    co_return false;
  }
  const Server& server = *up.server;
  c.rec.server = server.address;
  const auto deadline = net::Clock::now() + svc.dial_timeout;
  wm::Bytes payload;
  const Got g = co_await read_packet(up.leg, deadline, payload, why);
  wm::ErrPacket their_err;
  const wm::Status hs =
      g == Got::packet ? wm::parse_initial_handshake(payload, up.greeting, &why, &their_err) : wm::Status::malformed;
  if (hs == wm::Status::is_error) {  // e.g. 1040 Too many connections: the server's own words
    refuse(c, "backend_refused", fmt::format("server {}: {}", server.address, why));
    log_refusal(c);
    co_await write_packet(cl, payload, net::Clock::now() + net::Duration(1000));
    co_await net::close_after_reply(c.client, cl.tls);
    co_return false;
  }
  if (hs != wm::Status::complete) {
    const wm::Bytes err = refusal(
        c, cl, wm::kErrBackendUnreachable,
        fmt::format("snigate: router {}: server {} did not greet as a MySQL server: {}", r.name, server.address, why),
        "backend_bad_greeting");
    co_await answer(cl, err);
    co_return false;
  }
  // A greeting without a plugin name (MySQL 5.5.7-5.5.9 could send one) means
  // mysql_native_password, the only plugin those servers start with.
  if (up.greeting.auth_plugin.empty()) up.greeting.auth_plugin = wm::kNativePassword;
  const mysql::Negotiated neg =
      mysql::negotiate(resp.capabilities, up.greeting.capabilities, !resp.database.empty(), server.tls);
  if (!neg.error.empty()) {
    const wm::Bytes err =
        refusal(c, cl, wm::kErrNotSupported,
                fmt::format("snigate: router {}: server {}: {}", r.name, server.address, neg.error), "not_supported");
    co_await answer(cl, err);
    co_return false;
  }
  up.caps = neg.caps;
  if (!server.tls) co_return true;

  wm::SslRequest sr;
  sr.capabilities = static_cast<std::uint32_t>(neg.caps);
  sr.max_packet = resp.max_packet;
  sr.charset = resp.charset;
  const wm::Bytes ssl_request = wm::encode_ssl_request(sr);
  if (!co_await write_packet(up.leg, ssl_request, deadline))
    why = "could not send the SSLRequest";
  else
    up.tls = co_await start_backend_tls(svc, server, up.sock, name, why);
  if (!up.tls) {
    const wm::Bytes err =
        refusal(c, cl, wm::kErrBackendUnreachable,
                fmt::format("snigate: router {}: service {}: {}", r.name, svc.name, why), "backend_tls_failed");
    co_await answer(cl, err);
    co_return false;
  }
  up.leg.tls = up.tls.get();
  co_return true;
}

// Has the client answer the server's own challenge (an AuthSwitchRequest with
// the server's plugin and scramble), logs in to the server with that answer,
// then relays authentication both ways until the server's OK or ERR. true:
// logged in.
awaitable<bool> authenticate(Conn& c, PacketLeg& cl, const Route& r, const wm::HandshakeResponse& resp,
                             const std::string& user, Upstream& up) {
  const auto deadline = net::Clock::now() + c.entry.ep.client_hello_timeout;
  mysql::AuthRelay auth;
  auth.server_tls = up.server->tls;
  if (auth.start(up.greeting.auth_plugin) == Step::refuse) {
    const wm::Bytes err = refusal(c, cl, wm::kErrAccessDenied, "snigate: " + auth.error, "auth_refused");
    co_await answer(cl, err);
    co_return false;
  }
  std::string why;
  wm::Bytes payload;
  const wm::ByteView scramble = up.greeting.scramble_bytes();
  const wm::Bytes auth_switch =
      wm::encode_auth_switch({up.greeting.auth_plugin, wm::Bytes(scramble.begin(), scramble.end())});
  if (!co_await write_packet(cl, auth_switch, deadline) ||
      co_await read_packet(cl, deadline, payload, why) != Got::packet) {
    refuse(c, "client_closed", "the client did not answer the auth switch: " + why);
    co_return false;
  }
  wm::HandshakeResponse login;
  login.capabilities = up.caps;
  login.max_packet = resp.max_packet;
  login.charset = resp.charset;
  login.user = user;
  login.auth_response = payload;
  login.database = resp.database;
  login.auth_plugin = up.greeting.auth_plugin;
  login.attrs = resp.attrs;
  login.has_attrs = resp.has_attrs;
  const auto encoded = wm::encode_handshake_response(login);
  if (!encoded) {
    const wm::Bytes err =
        refusal(c, cl, wm::kErrNotSupported, "snigate: cannot encode the login for the server", "not_supported");
    co_await answer(cl, err);
    co_return false;
  }
  if (!co_await write_packet(up.leg, *encoded, deadline)) {
    co_await auth_lost(c, cl, r.name, "server", why);
    co_return false;
  }
  for (;;) {
    if (co_await read_packet(up.leg, deadline, payload, why) != Got::packet) {
      co_await auth_lost(c, cl, r.name, "server", why);
      co_return false;
    }
    const Step step = auth.on_server(payload);
    if (step == Step::refuse) {
      const wm::Bytes err = refusal(c, cl, wm::kErrAccessDenied,
                                    fmt::format("snigate: router {}: {}", r.name, auth.error), "auth_refused");
      co_await answer(cl, err);
      co_return false;
    }
    if (!co_await write_packet(cl, payload, deadline)) {
      refuse(c, "client_closed", "the client went away during authentication");
      co_return false;
    }
    switch (step) {
      case Step::relay_done_ok:
        co_return true;
      case Step::relay_done_err: {  // e.g. 1045: the client has the server's own ERR
        wm::ErrPacket e;
        wm::parse_err(payload, e);
        refuse(c, "auth_failed",
               fmt::format("server {} refused user \"{}\": {} {}", up.server->address, user, e.code, e.message));
        log_refusal(c);
        co_await net::close_after_reply(c.client, cl.tls);
        co_return false;
      }
      case Step::relay_wait_server:
        continue;
      default:
        break;
    }
    if (co_await read_packet(cl, deadline, payload, why) != Got::packet) {
      co_await auth_lost(c, cl, r.name, "client", why);
      co_return false;
    }
    if (!co_await write_packet(up.leg, payload, deadline)) {
      co_await auth_lost(c, cl, r.name, "server", why);
      co_return false;
    }
  }
}

}  // namespace

// GCC 12 reports -Wmismatched-new-delete for this coroutine's frame, a known
// false positive (GCC bug 109224: the promise's sized operator delete is
// matched against the global operator new after inlining). Scoped to this
// function so the check stays on everywhere else.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
awaitable<void> mysql_journey(Conn& c) {
  c.rec.mode = "mysql";
  PacketLeg cl{{c.client, nullptr, {}}, 0};
  const std::uint32_t id = next_session_id();
  const wm::Bytes hello = wm::frame(0, wm::encode_initial_handshake(greeting(id)));
  if (!co_await write_bytes(cl, hello, c.hello_deadline)) {
    refuse(c, "client_closed", "could not send the greeting");
    co_return;
  }
  Login login;
  if (!co_await read_login(c, cl, login)) co_return;

  const wm::UserHost uh = wm::user_at_host(login.resp.user);
  const std::string user(uh.user);  // the server sees the user without @host
  const std::string name = routes_by_user_host(c.sni, uh.host) ? lower_ascii(uh.host) : c.sni;
  wm::Bytes err;
  const Route* r = route(c, cl, name, err);
  if (!r) {
    co_await answer(cl, err);
    co_return;
  }

  Upstream up(c.client.get_executor());
  if (!co_await open_server(c, cl, *r, login.resp, name, up)) co_return;
  if (!co_await authenticate(c, cl, *r, login.resp, user, up)) co_return;

  // Logged in. From now on a KILL naming id reaches this session: the
  // registration lasts as long as the connection (c.held).
  MysqlSession self{server_endpoint(up.sock, up.server->address), up.greeting.connection_id, c.rec.client, r->name};
  if (id != 0) {
    auto entry = std::make_shared<MysqlSessions::Entry>();
    mysql_sessions().add(id, self, *entry);
    c.held = entry;
  }
  c.up_filter = make_kill_filter(id, std::move(self));
  if (!cl.buf.empty()) {  // a command the client sent before its login's OK arrived: filtered too
    const std::span<const std::uint8_t> early = c.up_filter->pass(cl.buf);
    cl.buf = std::vector<std::uint8_t>(early.begin(), early.end());
  }
  // Whatever either side sent past the handshake goes on first.
  c.rec.detail = "user " + user;
  c.client_tls = std::move(login.tls);
  net::RelayLeg server{std::move(up.sock), std::move(up.tls)};
  co_await join(c, server, cl.buf, up.leg.buf, *r);
}
#pragma GCC diagnostic pop

}  // namespace snigate::session
