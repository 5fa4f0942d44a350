#pragma once
// Reading a Leg (leg.hpp) one line, or one SMTP reply, at a time: the text
// protocols whose TLS starts inside them (SMTP, IMAP, POP3). Each read is
// bounded by its limit and its deadline.
#include <cstddef>
#include <string>
#include <string_view>

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

}  // namespace snigate::session
