#pragma once
// The MySQL driver (driver.hpp) for `protocol: mysql` entry points: snigate
// greets the client itself, terminates the TLS the client asks for inside
// the MySQL handshake, routes by SNI or user@host, logs in to the chosen
// server for the client (the client answers the server's own challenge),
// then relays bytes untouched but for KILL translation. See docs/mysql.md.
#include <cstdint>
#include <span>

#include "session/driver.hpp"
#include "wire/mysql.hpp"

namespace snigate::session {

struct MysqlDriver {
  net::awaitable<Refused> preamble(Conn& c);
  Refused admit(Conn& c, const Route& r);
  std::span<const std::uint8_t> first_bytes(Conn&, const Route&) { return {}; }
  net::awaitable<Refused> open_server(Conn& c, const Route& r, Upstream& up);
  net::awaitable<void> speak(Conn& c, const Refusal& r);

  // Each leg numbers its own packets: snigate renumbers what it passes on.
  std::uint8_t client_seq = 0;
  std::uint8_t server_seq = 0;
  std::uint32_t id = 0;  // the connection id snigate's greeting gave the client
  wire::mysql::HandshakeResponse login;  // the client's
  wire::mysql::InitialHandshake greeting;  // the server's
  std::uint64_t caps = 0;  // for snigate's HandshakeResponse41 to the server

 private:
  net::awaitable<Refused> read_login(Conn& c);
  net::awaitable<Refused> take_tls(Conn& c);
  net::awaitable<Refused> server_greeting(const Route& r, Upstream& up);
  net::awaitable<Refused> server_tls(Conn& c, const Route& r, Upstream& up);
  net::awaitable<Refused> authenticate(Conn& c, const Route& r, Upstream& up);
  void register_session(Conn& c, const Route& r, Upstream& up);
  // user: the user the server sees (c.open.user).
  wire::mysql::HandshakeResponse server_login(const wire::mysql::Bytes& answer, const std::string& user) const;
  Refusal server_refused_login(const Upstream& up, const wire::mysql::Bytes& payload, const std::string& user) const;
};

static_assert(Driver<MysqlDriver>);

}  // namespace snigate::session
