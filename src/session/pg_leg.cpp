#include "session/pg_leg.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/linger.hpp"

namespace snigate::session::pg {

using net::awaitable;

awaitable<Got> read_exact(Leg& leg, std::size_t n, net::Clock::time_point deadline, wp::Bytes& out,
                          std::string& why) {
  const std::size_t from_buf = std::min(n, leg.buf.size());
  out.insert(out.end(), leg.buf.begin(), leg.buf.begin() + static_cast<std::ptrdiff_t>(from_buf));
  leg.buf.erase(leg.buf.begin(), leg.buf.begin() + static_cast<std::ptrdiff_t>(from_buf));
  std::size_t left_to_read = n - from_buf;
  auto read = [&]() -> awaitable<Got> {
    while (left_to_read > 0) {
      const std::size_t before = out.size();
      const std::error_code ec = co_await read_some(leg, left_to_read, out);
      left_to_read -= out.size() - before;
      if (ec) {
        why = read_error(ec);
        co_return Got::closed;
      }
    }
    co_return Got::done;
  };
  if (left_to_read == 0) co_return Got::done;
  auto r = co_await net::within(left(deadline), read());
  if (!r) {
    why = "sent nothing in time";
    co_return Got::timeout;
  }
  co_return *r;
}

awaitable<Got> read_startup_packet(Leg& leg, net::Clock::time_point deadline, wp::Bytes& packet, std::string& why) {
  packet.clear();
  Got g = co_await read_exact(leg, 8, deadline, packet, why);
  if (g != Got::done) co_return g;
  const std::uint32_t len = wp::startup_length(packet);
  if (len < 8 || len > wp::kMaxStartupPacket) {
    why = fmt::format("a startup packet of {} bytes (PostgreSQL's are 8 to {})", len, wp::kMaxStartupPacket);
    co_return Got::bad;
  }
  co_return co_await read_exact(leg, len - 8, deadline, packet, why);
}

awaitable<Got> read_message(Leg& leg, net::Clock::time_point deadline, wp::Bytes& message, std::string& why) {
  const Framing take = [&message](std::vector<std::uint8_t>& buf, std::string& bad) -> Framed {
    wp::Message m;
    switch (wp::split_message(buf, m)) {
      case wp::Status::complete:
        message.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(m.wire_size));
        buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(m.wire_size));
        return {Framed::whole};
      case wp::Status::too_large:
        bad = fmt::format("a message larger than {} bytes while setting up", wp::kMaxSetupMessage);
        return {Framed::bad};
      case wp::Status::need_more: return {Framed::more, 16 * 1024};
      default: break;
    }
    bad = "a malformed message";
    return {Framed::bad};
  };
  co_return co_await read_framed(leg, deadline, take, why);
}

}  // namespace snigate::session::pg
