#pragma once
// The PostgreSQL driver (driver.hpp), for `protocol: postgres` entry points
// and for PostgreSQL clients a tcp entry point hands over. Routes by name
// through the SSLRequest upgrade and direct TLS; passes the client's TLS
// through (snigate sends the server its own SSLRequest) or terminates it and
// reads the StartupMessage (which may name the server as user@host), then
// relays the login; forwards cancel requests; refuses with ErrorResponses.
// See docs/postgres.md.
#include <cstdint>
#include <span>

#include "session/driver.hpp"
#include "wire/postgres.hpp"

namespace snigate::session {

struct PgDriver {
  net::awaitable<Refused> preamble(Conn& c);
  Refused admit(Conn& c, const Route& r);
  std::span<const std::uint8_t> first_bytes(Conn& c, const Route& r);
  net::awaitable<Refused> open_server(Conn& c, const Route& r, Upstream& up);
  net::awaitable<void> speak(Conn& c, const Refusal& r);

  // plain: not PostgreSQL after all, or a tcp entry point's plain catch-all
  // takes it as it is; passthrough: the client's TLS goes to the server;
  // login: snigate ended the client's TLS (or it has none) and logs it in.
  enum class Mode : std::uint8_t { plain, passthrough, login };
  Mode mode = Mode::login;
  wire::postgres::StartupMessage startup;  // for the server, without @host

 private:
  net::awaitable<Refused> from_tcp_entry(Conn& c);
  net::awaitable<Refused> after_hello(Conn& c);
  Refused read_login(Conn& c, const wire::postgres::Bytes& packet);
};

bool offers_postgresql(const wire::ClientHello& hello);

static_assert(Driver<PgDriver>);

}  // namespace snigate::session
