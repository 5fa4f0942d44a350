#include "session/mysql_kill_filter.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "wire/mysql_kill.hpp"

namespace snigate::session {

namespace {

namespace wm = wire::mysql;

constexpr std::size_t kSignalMessageMax = 128;    // MESSAGE_TEXT's limit

}  // namespace

std::span<const std::uint8_t> MysqlKillFilter::pass(std::span<const std::uint8_t> chunk) {
  std::span<const std::uint8_t> in = chunk;
  if (!pending_.empty()) {  // a packet began in an earlier read
    joined_.assign(pending_.begin(), pending_.end());
    joined_.insert(joined_.end(), chunk.begin(), chunk.end());
    pending_.clear();
    in = joined_;
  }
  out_.clear();
  bool rewritten = false;
  std::size_t at = 0;
  std::size_t emitted = 0;  // rewritten: in[0, emitted) is in out_ already
  std::size_t end = in.size();  // in[end, ...) waits for the next read
  while (at < in.size()) {
    if (skip_ > 0) {
      const std::size_t n = std::min(skip_, in.size() - at);
      at += n;
      skip_ -= n;
      continue;
    }
    const std::size_t rest = in.size() - at;
    if (rest < wm::kHeaderSize) {
      end = at;
      break;
    }
    const std::size_t len = in[at] | in[at + 1] << 8 | in[at + 2] << 16;
    const std::uint8_t seq = in[at + 3];
    const bool command = seq == 0 && !continues_ && last_seq_ != 255;
    const bool candidate = command && len >= 1 && len <= wm::kMaxKillPayload;
    if (candidate && rest < wm::kHeaderSize + len) {
      end = at;
      break;
    }
    continues_ = len == wm::kMaxPayload;  // the next packet continues this one
    last_seq_ = seq;
    if (!candidate) {
      at += wm::kHeaderSize;
      skip_ = len;
      continue;
    }
    const std::span<const std::uint8_t> packet = in.subspan(at, wm::kHeaderSize + len);
    const wm::Bytes replaced = translate(packet);
    if (!replaced.empty()) {
      rewritten = true;
      out_.insert(out_.end(), in.begin() + static_cast<std::ptrdiff_t>(emitted),
                  in.begin() + static_cast<std::ptrdiff_t>(at));
      out_.insert(out_.end(), replaced.begin(), replaced.end());
      emitted = at + packet.size();
    }
    at += packet.size();
  }
  pending_.assign(in.begin() + static_cast<std::ptrdiff_t>(end), in.end());
  if (!rewritten) return in.first(end);
  out_.insert(out_.end(), in.begin() + static_cast<std::ptrdiff_t>(emitted),
              in.begin() + static_cast<std::ptrdiff_t>(end));
  return out_;
}

wm::Bytes MysqlKillFilter::translate(std::span<const std::uint8_t> packet) {
  const wm::ByteView payload = packet.subspan(wm::kHeaderSize);
  const std::optional<wm::KillCommand> kill = wm::parse_kill(payload);
  if (!kill) return {};
  const KillVerdict v = judge_(kill->id);
  switch (v.kind) {
    case KillVerdict::Kind::forward:
      return {};
    case KillVerdict::Kind::rewrite: {
      const wm::Bytes rewritten = wm::with_kill_id(payload, *kill, v.thread_id);
      return wm::frame(0, rewritten);
    }
    case KillVerdict::Kind::refuse:
      return refusal_command(v.message);
  }
  return {};
}

wm::Bytes refusal_command(std::string_view message) {
  std::string text = "SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1094, MESSAGE_TEXT = '";
  for (const char ch : message.substr(0, kSignalMessageMax)) {
    const bool plain = ch >= 0x20 && ch <= 0x7e && ch != '\'' && ch != '\\';
    text += plain ? ch : '?';
  }
  text += '\'';
  wm::Bytes payload{wm::COM_QUERY};
  payload.insert(payload.end(), text.begin(), text.end());
  return wm::frame(0, payload);
}

std::unique_ptr<MysqlKillFilter> make_kill_filter(std::uint32_t self_id, MysqlSession self) {
  auto judge = [self_id, self = std::move(self)](std::uint64_t id) {
    KillVerdict v;
    const std::optional<MysqlSession> target = mysql_sessions().find(id);
    if (!target) return v;  // not snigate's: the server answers Unknown thread id, as ids never collide
    if (target->server != self.server) {
      v.kind = KillVerdict::Kind::refuse;
      v.message = fmt::format(
          "snigate: connection {} is on another server than this connection; KILL it from a connection to its "
          "server",
          id);
      spdlog::info("{}: router {}: KILL of connection {} refused: it (client {}, router {}) is on server {}, this "
                   "connection (id {}) on {}",
                   self.client, self.router, id, target->client, target->router, target->server, self_id,
                   self.server);
      return v;
    }
    v.kind = KillVerdict::Kind::rewrite;
    v.thread_id = target->thread_id;
    spdlog::info("{}: router {}: KILL of connection {} (client {}) sent to server {} as its thread id {} (from "
                 "connection {})",
                 self.client, self.router, id, target->client, self.server, target->thread_id, self_id);
    return v;
  };
  return std::make_unique<MysqlKillFilter>(std::move(judge));
}

}  // namespace snigate::session
