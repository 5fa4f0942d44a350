#pragma once
// Listening sockets. By default two workers watch each socket of an entry
// point, and whichever of them is free takes the next connection; with more
// than two workers there are several such sockets on one address
// (SO_REUSEPORT), and the kernel picks one by a hash of the addresses. With
// reusePort, each worker has a socket of its own.
#include <string>

#include "net/asio.hpp"

namespace snigate::net {

// "host:port", ":port" (every address, IPv4 and IPv6), "[v6]:port".
bool parse_listen_address(std::string_view text, tcp::endpoint& out, std::string& error);

// How a new listening socket shares its address with other sockets.
enum class PortShare {
  alone,  // not at all: a socket already on the address is an error, and so is any later one
  first,  // bound alone (a socket already there is an error), then SO_REUSEPORT for the ones that follow
  join,   // SO_REUSEPORT before bind: joins the sockets already there that set it too
};

// With TCP_NODELAY and TCP keep-alive (kDefaultKeepAlive), which accepted
// sockets inherit (Linux): no setsockopt per connection.
tcp::acceptor open_listener(asio::io_context& io, const tcp::endpoint& at, PortShare share, std::error_code& ec);

// The same listening socket for another worker: a duplicate descriptor, so
// each worker's reactor registers its own and closes its own on drain.
tcp::acceptor share_listener(asio::io_context& io, tcp::acceptor& first, std::error_code& ec);

// Client-first entry points: have the kernel complete accept only once the
// client's first bytes are in (TCP_DEFER_ACCEPT). The hello is then read at
// once, without a wakeup for the bare connection and another for its data.
// A client that sends nothing is handed over after about a second anyway
// (when the SYN-ACK is repeated and answered), so snigate still answers it
// within clientHelloTimeout from then. Never for server-first protocols:
// their clients wait for a greeting and would be handed over a second late.
inline constexpr int kDeferAcceptSeconds = 1;
void defer_accept(tcp::acceptor& acc, bool on);

// The next connection, accepted with accept4(SOCK_NONBLOCK | SOCK_CLOEXEC):
// non-blocking and with TCP_NODELAY from the start, and peer is the address
// accept returned (no getpeername). would_block when nothing is pending; a
// plain function, so a busy listener costs no coroutine per connection.
std::error_code accept_now(tcp::acceptor& acc, tcp::socket& sock, tcp::endpoint& peer);

// After accept_now said would_block: waits for the listener, then accepts.
awaitable<std::error_code> accept_next(tcp::acceptor& acc, tcp::socket& sock, tcp::endpoint& peer);

// After accept failed for want of descriptors (EMFILE, ENFILE) or memory:
// the connection stays in the backlog, and accepting again at once would
// fail again, so the listener waits kAcceptErrorPause. Such errors repeat for
// every waiting connection: one log line a second at most for the whole
// process, counting the errors in between.
inline constexpr Duration kAcceptErrorPause{100};
awaitable<void> pause_after_accept_error(std::string_view entry_point, std::error_code ec);

}  // namespace snigate::net
