#pragma once
// Reading PostgreSQL's startup packets and messages from a Leg, within
// deadlines; refusals as ErrorResponses in the client's own protocol.
#include <string>
#include <string_view>

#include "net/asio.hpp"
#include "net/tls_stream.hpp"
#include "session/conn.hpp"
#include "session/leg.hpp"
#include "wire/postgres.hpp"

namespace snigate::session::pg {

namespace wp = wire::postgres;

using session::Leg;

enum class Got { done, timeout, closed, bad };

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

// SQLSTATEs snigate answers with.
inline constexpr std::string_view kNoRoute = "08004";        // server rejected establishment of connection
inline constexpr std::string_view kUnreachable = "08001";    // unable to establish connection
inline constexpr std::string_view kProtocolViolation = "08P01";
inline constexpr std::string_view kAuthSpec = "28000";       // invalid authorization specification
inline constexpr std::string_view kConnectionFailure = "08006";

// Every refusal is a FATAL ErrorResponse: refusal() records it (end, and
// detail for the log when it says more than the client should see) and
// encodes it; answer() sends it and closes. Two steps so that no co_await
// expression holds a class-type temporary (GCC 12 may destroy those twice).
wp::Bytes refusal(Conn& c, std::string_view sqlstate, std::string_view message, std::string_view end,
                  std::string_view hint = {}, std::string_view detail = {});
net::awaitable<void> answer(Leg& client, const wp::Bytes& err);

}  // namespace snigate::session::pg
