#pragma once
// PostgreSQL: routing by name through the SSLRequest upgrade and direct TLS,
// passthrough (snigate sends its own SSLRequest to the server) and
// termination (snigate reads the StartupMessage, routes by SNI or user@host,
// connects the server and relays the login), cancel requests, and refusals
// as ErrorResponses. See docs/postgres.md.
#include <cstdint>
#include <vector>

#include "net/asio.hpp"
#include "session/conn.hpp"
#include "session/sniff.hpp"

namespace snigate::session {

// A `protocol: postgres` entry point: every client speaks PostgreSQL.
net::awaitable<void> postgres_journey(Conn& c);

// A tcp entry point whose client's first byte is 0, as every PostgreSQL
// startup packet's is. read: what was read from the client so far. Takes
// SSLRequest, GSSENCRequest and CancelRequest; anything else returns false
// with every byte read in `read`, for the caller to route as plain TCP.
net::awaitable<bool> postgres_detect(Conn& c, std::vector<std::uint8_t>& read);

// A direct TLS client (PostgreSQL 17 sslnegotiation=direct: ALPN
// "postgresql", no SSLRequest) whose ClientHello is in s.
net::awaitable<void> postgres_direct_tls(Conn& c, Sniffed& s);

bool offers_postgresql(const wire::ClientHello& hello);

}  // namespace snigate::session
