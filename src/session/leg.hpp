#pragma once
// Reading and writing a Leg (conn.hpp) while a driver sets the connection
// up, through TLS when the leg has it. Writes have deadlines; reads get
// theirs from their callers.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
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

enum class Got { done, timeout, closed, bad };

// What a protocol's framing says of the bytes in a leg's buffer: it took a
// whole message out (whole), the bytes can never frame one (bad, why set),
// or it needs more, of which the leg may read up to want.
struct Framed {
  enum { whole, bad, more } state;
  std::size_t want = 0;
};
using Framing = std::function<Framed(std::vector<std::uint8_t>& buf, std::string& why)>;

// Reads into leg.buf until take says whole or bad, by the deadline. why says
// what went wrong: the framing's words, the read error, or "sent nothing in
// time".
net::awaitable<Got> read_framed(Leg& leg, net::Clock::time_point deadline, const Framing& take, std::string& why);

net::awaitable<bool> write_bytes(Leg& leg, std::span<const std::uint8_t> bytes, net::Clock::time_point deadline);

}  // namespace snigate::session
