#include "session/mysql_driver.hpp"

#include <fmt/format.h>

#include "net/linger.hpp"
#include "session/client_tls.hpp"
#include "session/leg.hpp"
#include "session/login_name.hpp"
#include "session/mysql_auth.hpp"
#include "session/mysql_kill_filter.hpp"
#include "session/mysql_sessions.hpp"
#include "session/no_route.hpp"
#include "session/sniff.hpp"

namespace snigate::session {

namespace {

using net::awaitable;
using net::tcp;
namespace wm = wire::mysql;

// What snigate's greeting says it is. The "5.5.5-" prefix is how MariaDB
// servers announce themselves (old MySQL replication clients required a 5.x
// version); clients read the real version from the server after login.
constexpr std::string_view kServerVersion = "5.5.5-10.11.0-snigate";
constexpr std::uint8_t kUtf8mb4GeneralCi = 45;

// How many bytes to read for the rest of the packet in buf and no more: what
// follows an SSLRequest is the client's ClientHello, which
// read_client_hello must find in the socket.
std::size_t packet_rest(const std::vector<std::uint8_t>& buf) {
  if (buf.size() < wm::kHeaderSize) return wm::kHeaderSize - buf.size();
  return wm::kHeaderSize + (buf[0] | buf[1] << 8 | buf[2] << 16) - buf.size();
}

// Reads one whole packet by the deadline; seq becomes its sequence id.
awaitable<Got> read_packet(Leg& leg, std::uint8_t& seq, net::Clock::time_point deadline, wm::Bytes& payload,
                           std::string& why) {
  const bool tls = leg.tls != nullptr;
  const Framing take = [&payload, &seq, tls](std::vector<std::uint8_t>& buf, std::string& bad) -> Framed {
    wm::Packet p;
    const wm::Status st = wm::split_packet(buf, p);
    if (st == wm::Status::complete) {
      payload.assign(p.payload.begin(), p.payload.end());
      seq = p.header.seq;
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(p.wire_size));
      return {Framed::whole};
    }
    if (st == wm::Status::need_more) return {Framed::more, tls ? 16 * 1024 : packet_rest(buf)};
    bad = st == wm::Status::too_large ? fmt::format("a packet larger than {} bytes", wm::kMaxHandshakePayload)
                                      : "a malformed packet";
    return {Framed::bad};
  };
  co_return co_await read_framed(leg, deadline, take, why);
}

// Frames payload with the leg's next sequence id.
awaitable<bool> write_packet(Leg& leg, std::uint8_t& seq, wm::ByteView payload, net::Clock::time_point deadline) {
  const wm::Bytes framed = wm::frame(++seq, payload);
  co_return co_await write_bytes(leg, framed, deadline);
}

// id: the connection id drivers will name in a KILL (next_session_id()).
wm::InitialHandshake snigate_greeting(std::uint32_t id) {
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

// The client's login did not arrive.
Refusal login_failure(const Conn& c, Got g, const std::string& why) {
  if (g == Got::closed) return client_gone("the client closed before logging in");
  if (g == Got::timeout)
    return {Cause::timeout, "timeout",
            fmt::format("no login within clientHelloTimeout ({} ms)", c.entry.ep.client_hello_timeout.count())};
  return {Cause::bad_request, "bad_handshake", "bad handshake: " + why};
}

Refusal not_supported(std::string message) { return {Cause::not_supported, "not_supported", std::move(message)}; }

Refusal auth_lost(const Route& r, std::string_view who, std::string_view why) {
  return {Cause::lost, "auth_failed",
          fmt::format("router {}: the {} did not complete authentication ({})", r.name, who, why)};
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

const wm::ErrCode& err_code(Cause cause) {
  switch (cause) {
    case Cause::timeout:
    case Cause::lost: return wm::kErrTimeout;
    case Cause::bad_request: return wm::kErrBadHandshake;
    case Cause::not_supported: return wm::kErrNotSupported;
    case Cause::unknown_name: return wm::kErrNoRoute;
    case Cause::denied: return wm::kErrAccessDenied;
    case Cause::not_allowed: return wm::kErrHostNotAllowed;
    case Cause::too_many: return wm::kErrTooManyConnections;
    default: return wm::kErrBackendUnreachable;
  }
}

}  // namespace

awaitable<Refused> MysqlDriver::preamble(Conn& c) {
  c.rec.mode = "mysql";
  id = next_session_id();
  const wm::Bytes hello = wm::frame(0, wm::encode_initial_handshake(snigate_greeting(id)));
  if (!co_await write_bytes(c.client, hello, c.hello_deadline)) co_return client_gone("could not send the greeting");
  if (Refused s = co_await read_login(c)) co_return s;
  const wm::UserHost uh = wm::user_at_host(login.user);
  c.open.user = std::string(uh.user);  // the server sees the user without @host
  c.open.name_from_user = routes_by_user_host(c.open.sni, uh.host);
  std::string name = c.open.name_from_user ? lower_ascii(uh.host) : c.open.sni;
  set_routing_name(c, std::move(name));
  co_return std::nullopt;
}

// After the greeting, until the HandshakeResponse41 is in hand (over TLS when
// the client asks for it).
awaitable<Refused> MysqlDriver::read_login(Conn& c) {
  wm::Bytes payload;
  std::string why;
  Got g = co_await read_packet(c.client, client_seq, c.hello_deadline, payload, why);
  if (g != Got::done) co_return login_failure(c, g, why);
  if (wm::is_ssl_request(payload)) {
    if (Refused s = co_await take_tls(c)) co_return s;
    g = co_await read_packet(c.client, client_seq, c.hello_deadline, payload, why);
    if (g != Got::done) co_return login_failure(c, g, why);
  }
  if (wm::parse_handshake_response(payload, login, &why) != wm::Status::complete)
    co_return login_failure(c, Got::bad, why);
  if (!(login.capabilities & wm::CLIENT_PLUGIN_AUTH))
    co_return not_supported(
        "this client does not support authentication plugins (CLIENT_PLUGIN_AUTH), which "
        "snigate needs to let it answer the server's own challenge");
  co_return std::nullopt;
}

// The client asked for TLS: its ClientHello, then the handshake. The router
// is not known yet when the client sends no SNI (user@host comes inside
// TLS): then the default tls.options apply; with an SNI, the options of the
// router it selects.
awaitable<Refused> MysqlDriver::take_tls(Conn& c) {
  if (Refused s = co_await read_hello(c, true)) co_return s;
  const Route* by_sni = c.open.sni.empty() ? nullptr : match(c.entry, c.facts);
  const tls::ServerOptions* options =
      by_sni && by_sni->options ? by_sni->options.get() : c.snap.options.at("default").get();
  c.open.handshake_options = options;
  const std::string_view router = by_sni ? std::string_view(by_sni->name) : std::string_view();
  co_return co_await secure_client(c, *options, router);
}

Refused MysqlDriver::admit(Conn& c, const Route& r) {
  if (!c.client.tls && !r.allow_plaintext) return plaintext_refusal(c.entry, r);
  return std::nullopt;
}

awaitable<Refused> MysqlDriver::open_server(Conn& c, const Route& r, Upstream& up) {
  if (Refused s = co_await server_greeting(r, up)) co_return s;
  if (Refused s = co_await server_tls(c, r, up)) co_return s;
  if (Refused s = co_await authenticate(c, r, up)) co_return s;
  register_session(c, r, up);
  c.rec.detail = "user " + c.open.user;
  co_return std::nullopt;
}

// The server's greeting, and the capabilities both legs can agree on.
awaitable<Refused> MysqlDriver::server_greeting(const Route& r, Upstream& up) {
  const Server& server = *up.server;
  wm::Bytes payload;
  std::string why;
  const Got g = co_await read_packet(up.leg, server_seq, net::Clock::now() + up.server->lb->dial_timeout, payload, why);
  wm::ErrPacket their_err;
  const wm::Status hs =
      g == Got::done ? wm::parse_initial_handshake(payload, greeting, &why, &their_err) : wm::Status::malformed;
  if (hs == wm::Status::is_error)  // e.g. 1040 Too many connections: the server's own words
    co_return answered("backend_refused", fmt::format("server {}: {}", server.address, why), std::move(payload));
  if (hs != wm::Status::complete)
    co_return Refusal{
        Cause::unreachable, "backend_bad_greeting",
        fmt::format("router {}: server {} did not greet as a MySQL server: {}", r.name, server.address, why)};
  // A greeting without a plugin name (MySQL 5.5.7-5.5.9 could send one) means
  // mysql_native_password, the only plugin those servers start with.
  if (greeting.auth_plugin.empty()) greeting.auth_plugin = wm::kNativePassword;
  const mysql::Negotiated neg =
      mysql::negotiate(login.capabilities, greeting.capabilities, !login.database.empty(), server.tls);
  if (!neg.error.empty())
    co_return not_supported(fmt::format("router {}: server {}: {}", r.name, server.address, neg.error));
  caps = neg.caps;
  co_return std::nullopt;
}

// snigate's SSLRequest and TLS to a server marked tls.
awaitable<Refused> MysqlDriver::server_tls(Conn& c, const Route& r, Upstream& up) {
  if (!up.server->tls) co_return std::nullopt;
  wm::SslRequest sr;
  sr.capabilities = static_cast<std::uint32_t>(caps);
  sr.max_packet = login.max_packet;
  sr.charset = login.charset;
  const wm::Bytes ssl_request = wm::encode_ssl_request(sr);
  if (co_await write_packet(up.leg, server_seq, ssl_request, net::Clock::now() + up.server->lb->dial_timeout))
    co_return co_await secure_server(r, up, c.facts.sni);
  co_return Refusal{Cause::unreachable, "backend_tls_failed",
                    fmt::format("router {}: service {}: could not send the SSLRequest", r.name, r.service->name)};
}

// Has the client answer the server's own challenge (an AuthSwitchRequest with
// the server's plugin and scramble), logs in to the server with that answer,
// then relays authentication both ways until the server's OK or ERR.
awaitable<Refused> MysqlDriver::authenticate(Conn& c, const Route& r, Upstream& up) {
  const auto deadline = net::Clock::now() + c.entry.ep.client_hello_timeout;
  mysql::AuthRelay auth;
  auth.server_tls = up.server->tls;
  if (auth.start(greeting.auth_plugin) == mysql::Step::refuse)
    co_return Refusal{Cause::denied, "auth_refused", auth.error};
  std::string why;
  wm::Bytes payload;
  const wm::ByteView scramble = greeting.scramble_bytes();
  const wm::Bytes auth_switch =
      wm::encode_auth_switch({greeting.auth_plugin, wm::Bytes(scramble.begin(), scramble.end())});
  if (!co_await write_packet(c.client, client_seq, auth_switch, deadline) ||
      co_await read_packet(c.client, client_seq, deadline, payload, why) != Got::done)
    co_return client_gone("the client did not answer the auth switch: " + why);
  const auto encoded = wm::encode_handshake_response(server_login(payload, c.open.user));
  if (!encoded) co_return not_supported("cannot encode the login for the server");
  if (!co_await write_packet(up.leg, server_seq, *encoded, deadline)) co_return auth_lost(r, "server", why);
  for (;;) {
    if (co_await read_packet(up.leg, server_seq, deadline, payload, why) != Got::done)
      co_return auth_lost(r, "server", why);
    const mysql::Step step = auth.on_server(payload);
    if (step == mysql::Step::refuse)
      co_return Refusal{Cause::denied, "auth_refused", fmt::format("router {}: {}", r.name, auth.error)};
    if (step == mysql::Step::relay_done_err) co_return server_refused_login(up, payload, c.open.user);
    if (!co_await write_packet(c.client, client_seq, payload, deadline))
      co_return client_gone("the client went away during authentication");
    if (step == mysql::Step::relay_done_ok) co_return std::nullopt;
    if (step == mysql::Step::relay_wait_server) continue;
    if (co_await read_packet(c.client, client_seq, deadline, payload, why) != Got::done)
      co_return auth_lost(r, "client", why);
    if (!co_await write_packet(up.leg, server_seq, payload, deadline)) co_return auth_lost(r, "server", why);
  }
}

// What snigate sends the server: the client's login with the server's
// plugin, the agreed capabilities, the user without @host, and the client's
// answer to the server's challenge.
wm::HandshakeResponse MysqlDriver::server_login(const wm::Bytes& answer, const std::string& user) const {
  wm::HandshakeResponse out;
  out.capabilities = caps;
  out.max_packet = login.max_packet;
  out.charset = login.charset;
  out.user = user;
  out.auth_response = answer;
  out.database = login.database;
  out.auth_plugin = greeting.auth_plugin;
  out.attrs = login.attrs;
  out.has_attrs = login.has_attrs;
  return out;
}

// e.g. 1045: the client gets the server's own ERR.
Refusal MysqlDriver::server_refused_login(const Upstream& up, const wm::Bytes& payload, const std::string& user) const {
  wm::ErrPacket e;
  wm::parse_err(payload, e);
  return answered("auth_failed",
                  fmt::format("server {} refused user \"{}\": {} {}", up.server->address, user, e.code, e.message),
                  payload);
}

// From now on a KILL naming id reaches this session: the registration lasts
// as long as the connection (c.held). A command the client sent before its
// login's OK arrived is filtered too.
void MysqlDriver::register_session(Conn& c, const Route& r, Upstream& up) {
  MysqlSession self{server_endpoint(up.leg.sock, up.server->address), greeting.connection_id, c.rec.client, r.name};
  if (id != 0) {
    auto entry = std::make_shared<MysqlSessions::Entry>();
    mysql_sessions().add(id, self, *entry);
    c.held = entry;
  }
  c.up_filter = make_kill_filter(id, std::move(self));
  if (!c.client.buf.empty()) {
    const std::span<const std::uint8_t> early = c.up_filter->pass(c.client.buf);
    c.client.buf = std::vector<std::uint8_t>(early.begin(), early.end());
  }
}

awaitable<void> MysqlDriver::speak(Conn& c, const Refusal& r) {
  if (r.cause == Cause::silent) co_return;
  if (c.open.hello_pending) {
    co_await send_alert(c.client.sock, alert_for(r.cause));
    co_return;
  }
  const wm::ErrCode& code = err_code(r.cause);
  const wm::Bytes err =
      r.said.empty() ? wm::encode_err_payload({code.code, std::string(code.sql_state), "snigate: " + with_hint(r)})
                     : r.said;
  co_await write_packet(c.client, client_seq, err, net::Clock::now() + net::Duration(1000));
  co_await net::close_after_reply(c.client.sock, c.client.tls.get());
}

}  // namespace snigate::session
