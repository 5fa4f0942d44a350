#pragma once
// The PostgreSQL driver's side with the server (pg_driver.hpp): snigate's
// own SSLRequest for passthrough, and for a client whose TLS ended at
// snigate, TLS to the server when it is marked tls, the StartupMessage, and
// the login relayed message by message until ReadyForQuery.
#include "net/asio.hpp"
#include "session/conn.hpp"
#include "session/refusal.hpp"
#include "session/upstream.hpp"
#include "wire/postgres.hpp"

namespace snigate::session::pg {

namespace wp = wire::postgres;

// The client's TLS goes through untouched: the server must first accept
// snigate's SSLRequest (sent with the connect, as far as it went).
net::awaitable<Refused> open_passthrough(Conn& c, const Route& r, Upstream& up);

// sm: the client's StartupMessage, user@host already taken out.
net::awaitable<Refused> open_login(Conn& c, const Route& r, Upstream& up, const wp::StartupMessage& sm);

// A refusal as the FATAL ErrorResponse the client reads.
wp::Bytes error_response(const Refusal& r);

// Says err to a client whose TLS handshake snigate has not answered (it
// chose a passthrough router): snigate completes the handshake itself so
// that the client can read it. A client that verifies certificates stops at
// that check instead, unless snigate has the name's certificate. false: the
// client could not be told (an alert went instead, or its handshake failed).
net::awaitable<bool> refuse_in_tls(Conn& c, const wp::Bytes& err);

}  // namespace snigate::session::pg
