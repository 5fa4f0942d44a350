#pragma once
// Reading PostgreSQL's startup packets and messages from a Leg, within
// deadlines.
#include <string>
#include <string_view>

#include "net/asio.hpp"
#include "net/tls_stream.hpp"
#include "session/conn.hpp"
#include "session/leg.hpp"
#include "wire/postgres.hpp"

namespace snigate::session::pg {

namespace wp = wire::postgres;

using session::Got;

// Exactly n bytes, appended to out. On a plain socket no byte past them is
// read: what follows an SSLRequest is a ClientHello that the TLS code must
// find in the socket.
net::awaitable<Got> read_exact(Leg& leg, std::size_t n, net::Clock::time_point deadline, wp::Bytes& out,
                               std::string& why);

// A whole untyped startup packet (SSLRequest, CancelRequest, StartupMessage...).
net::awaitable<Got> read_startup_packet(Leg& leg, net::Clock::time_point deadline, wp::Bytes& packet,
                                        std::string& why);

// One typed message, whole (type byte and length word included).
net::awaitable<Got> read_message(Leg& leg, net::Clock::time_point deadline, wp::Bytes& message, std::string& why);

}  // namespace snigate::session::pg
