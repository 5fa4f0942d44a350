#pragma once
// Listening sockets: one per worker and entry point, with SO_REUSEPORT so the
// kernel spreads new connections over the workers without a shared lock.
#include <string>

#include "net/asio.hpp"

namespace snigate::net {

// "host:port", ":port" (every address, IPv4 and IPv6), "[v6]:port".
bool parse_listen_address(std::string_view text, tcp::endpoint& out, std::string& error);

tcp::acceptor open_listener(asio::io_context& io, const tcp::endpoint& at, std::error_code& ec);

}  // namespace snigate::net
