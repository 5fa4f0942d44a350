#pragma once
// Reading a Leg (leg.hpp) one line, or one SMTP reply, at a time: the text
// protocols whose TLS starts inside them (SMTP, IMAP, POP3). Each read is
// bounded by its limit and its deadline.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.hpp"
#include "session/leg.hpp"

namespace snigate::session {

// One line of at most max bytes with its end, taken out of leg.buf; line is
// without its end. A bare LF ends a line too (bare_lf says so).
struct LineRead {
  Got got = Got::done;
  std::string line;
  bool bare_lf = false;
  std::string why;  // not done: what went wrong
};
net::awaitable<LineRead> read_line(Leg& leg, net::Clock::time_point deadline, std::size_t max);

// One whole SMTP reply (RFC 5321 4.2), taken out of leg.buf: its code and its
// bytes as sent (to pass on as they are, or parse again for the lines).
struct ReplyRead {
  Got got = Got::done;
  int code = 0;
  std::string raw;
  std::string why;
};
net::awaitable<ReplyRead> read_smtp_reply(Leg& leg, net::Clock::time_point deadline);

net::awaitable<bool> write_text(Leg& leg, std::string_view text, net::Clock::time_point deadline);

// For a Framing over text: the buffer as text, taking a message off its
// front, and how much one read may take (on a plain leg no more than the
// protocol's limit, so a read never takes much past what it allows; a TLS
// leg reads whole records).
std::string_view as_text(const std::vector<std::uint8_t>& buf);
void drop_front(std::vector<std::uint8_t>& buf, std::size_t n);
std::size_t read_size(const Leg& leg, std::size_t max);

}  // namespace snigate::session
