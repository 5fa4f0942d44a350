#pragma once
// Reading and writing a Leg (conn.hpp) while a driver sets the connection
// up, through TLS when the leg has it. Writes have deadlines; reads get
// theirs from their callers.
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "net/asio.hpp"
#include "session/conn.hpp"

namespace snigate::session {


// One read of at most max bytes, appended to into (through TLS when the leg
// has it). EOF is asio::error::eof.
net::awaitable<std::error_code> read_some(Leg& leg, std::size_t max, std::vector<std::uint8_t>& into);

// "closed the connection", or the error's own words.
std::string read_error(const std::error_code& ec);

net::awaitable<bool> write_bytes(Leg& leg, std::span<const std::uint8_t> bytes, net::Clock::time_point deadline);

}  // namespace snigate::session
