#pragma once
// The MySQL preamble driver for `protocol: mysql` entry points: snigate
// greets the client itself, terminates the TLS the client asks for inside the
// MySQL handshake, routes by SNI or user@host, logs in to the chosen server
// for the client (the client answers the server's own challenge), then
// relays bytes untouched. See docs/mysql.md.
#include "net/asio.hpp"
#include "session/conn.hpp"

namespace snigate::session {

net::awaitable<void> mysql_journey(Conn& c);

}  // namespace snigate::session
