#pragma once
// The driver of `protocol: tcp` entry points (driver.hpp): a TLS client is
// routed by its ClientHello (SNI, ALPN) and passed through or terminated; a
// client that does not start TLS, or stays silent where plain routers wait,
// is plain TCP. A PostgreSQL client (its first byte is 0) goes to the
// PostgreSQL driver.
#include <cstdint>
#include <span>

#include "session/driver.hpp"

namespace snigate::session {

struct TlsDriver {
  net::awaitable<Refused> preamble(Conn& c);
  Refused admit(Conn& c, const Route& r);
  std::span<const std::uint8_t> first_bytes(Conn& c, const Route& r);
  net::awaitable<Refused> open_server(Conn& c, const Route& r, Upstream& up);
  net::awaitable<void> speak(Conn& c, const Refusal& r);
};

static_assert(Driver<TlsDriver>);

}  // namespace snigate::session
