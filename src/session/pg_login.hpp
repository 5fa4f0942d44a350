#pragma once
// A terminated PostgreSQL client's login: route by SNI or user@host, connect
// the server (with snigate's own SSLRequest when the server is marked tls),
// forward the StartupMessage, relay authentication message by message until
// ReadyForQuery, then relay bytes.
#include "net/asio.hpp"
#include "session/conn.hpp"
#include "session/pg_leg.hpp"

namespace snigate::session::pg {

// packet: the client's whole StartupMessage; client: its leg (TLS or plain).
net::awaitable<void> login(Conn& c, Leg& client, const wp::Bytes& packet);

}  // namespace snigate::session::pg
