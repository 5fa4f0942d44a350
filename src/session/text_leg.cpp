#include "session/text_leg.hpp"

#include <span>

#include "wire/smtp.hpp"
#include "wire/text_line.hpp"

namespace snigate::session {

using net::awaitable;

std::string_view as_text(const std::vector<std::uint8_t>& buf) {
  return {reinterpret_cast<const char*>(buf.data()), buf.size()};
}

std::size_t read_size(const Leg& leg, std::size_t max) { return leg.tls ? 16 * 1024 : max; }

void drop_front(std::vector<std::uint8_t>& buf, std::size_t n) {
  buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

awaitable<LineRead> read_line(Leg& leg, net::Clock::time_point deadline, std::size_t max) {
  LineRead out;
  const Framing take = [&out, &leg, max](std::vector<std::uint8_t>& buf, std::string& why) -> Framed {
    const wire::LineResult l = wire::next_text_line(as_text(buf), max);
    if (l.status == wire::LineStatus::too_long) {
      why = "a line longer than " + std::to_string(max) + " bytes";
      return {Framed::bad};
    }
    if (l.status == wire::LineStatus::need_more) return {Framed::more, read_size(leg, max)};
    out.line = std::string(l.line.text);
    out.bare_lf = l.line.bare_lf;
    drop_front(buf, l.line.size);
    return {Framed::whole};
  };
  out.got = co_await read_framed(leg, deadline, take, out.why);
  co_return out;
}

awaitable<ReplyRead> read_smtp_reply(Leg& leg, net::Clock::time_point deadline) {
  ReplyRead out;
  const Framing take = [&out, &leg](std::vector<std::uint8_t>& buf, std::string& why) -> Framed {
    const wire::SmtpReplyResult r = wire::parse_smtp_reply(as_text(buf));
    if (r.status == wire::ReplyStatus::bad) {
      why = r.error;
      return {Framed::bad};
    }
    if (r.status == wire::ReplyStatus::need_more) return {Framed::more, read_size(leg, 512)};
    out.code = r.reply.code;
    out.raw = std::string(as_text(buf).substr(0, r.reply.size));
    drop_front(buf, r.reply.size);
    return {Framed::whole};
  };
  out.got = co_await read_framed(leg, deadline, take, out.why);
  co_return out;
}

awaitable<bool> write_text(Leg& leg, std::string_view text, net::Clock::time_point deadline) {
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  co_return co_await write_bytes(leg, bytes, deadline);
}

}  // namespace snigate::session
