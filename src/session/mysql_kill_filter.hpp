#pragma once
// The client-to-server filter of an established MySQL session: finds the
// commands that cancel a session by id (wire/mysql_kill.hpp) at command
// boundaries and translates an id from snigate's greeting into the server's
// thread id (MysqlSessions), so that drivers' cancels reach their session and
// nobody else's. Everything else passes as it came, without a copy.
//
// Framing: a packet is a 3-byte length, a sequence id and the payload; a
// command is a packet with sequence 0 that does not continue a 16 MiB packet
// (length 0xFFFFFF) nor follow sequence 255 (LOAD DATA content wraps around to
// 0). Only a command short enough to be a KILL is held back until whole, so
// the filter keeps at most kMaxKillPayload + 4 bytes between reads.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "net/relay.hpp"
#include "session/mysql_sessions.hpp"
#include "wire/mysql.hpp"

namespace snigate::session {

struct KillVerdict {
  enum class Kind { forward, rewrite, refuse };
  Kind kind = Kind::forward;
  std::uint32_t thread_id = 0;  // rewrite: the server's id to name instead
  std::string message;          // refuse: the client's error message
};

// What to do with a KILL that names id.
using KillJudge = std::function<KillVerdict(std::uint64_t id)>;

class MysqlKillFilter final : public net::UpFilter {
 public:
  explicit MysqlKillFilter(KillJudge judge) : judge_(std::move(judge)) {}
  std::span<const std::uint8_t> pass(std::span<const std::uint8_t> chunk) override;

 private:
  // A whole command packet as it goes to the server instead: empty when it
  // goes unchanged.
  wire::mysql::Bytes translate(std::span<const std::uint8_t> packet);

  KillJudge judge_;
  std::size_t skip_ = 0;       // payload bytes of the current packet still to pass unseen
  bool continues_ = false;     // the last packet was 0xFFFFFF long: the next one continues it
  std::uint8_t last_seq_ = 0;  // of the last packet header
  wire::mysql::Bytes pending_;  // a header or short command not yet whole
  wire::mysql::Bytes out_;      // what pass() returns when it is not the chunk itself
  wire::mysql::Bytes joined_;   // pending_ and the chunk, when a packet spans reads
};

// The command that has the server answer ERR 1094 (Unknown thread id,
// SQLSTATE HY000) with message, in place of a KILL snigate refuses: the
// client gets its answer in sequence from the server, and the server-to-client
// direction stays untouched. The message is cut to 128 bytes (SIGNAL's limit)
// and quotes and backslashes in it are replaced.
wire::mysql::Bytes refusal_command(std::string_view message);

// The filter of a session that snigate greeted with self_id (0: none) and
// connected as self: KILLs naming a registered session on the same server are
// rewritten to its thread id and logged; on another server refused.
std::unique_ptr<MysqlKillFilter> make_kill_filter(std::uint32_t self_id, MysqlSession self);

}  // namespace snigate::session
