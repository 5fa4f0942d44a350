#pragma once
// The two commands a MySQL client cancels with, as they arrive from the client
// (one command packet's payload, framing removed): COM_QUERY whose whole text is
// `KILL [HARD | SOFT] [QUERY | CONNECTION] <id>` with an optional trailing `;`,
// and COM_PROCESS_KILL (0x0c, 4-byte id). A KILL among other statements, in a
// comment or in a string literal is not one: only a text that is nothing but
// the KILL is recognised, so rewriting its number cannot change anything else.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "wire/mysql.hpp"

namespace snigate::wire::mysql {

inline constexpr std::uint8_t COM_QUERY = 0x03;
inline constexpr std::uint8_t COM_PROCESS_KILL = 0x0c;

// A KILL text longer than this is not recognised: the id sits within the first
// few dozen bytes of any real one, and the framing filter holds at most this
// much of a command back.
inline constexpr std::size_t kMaxKillPayload = 256;

struct KillCommand {
  std::uint64_t id = 0;
  std::size_t id_at = 0;   // where the id's digits (COM_QUERY) or 4 bytes (COM_PROCESS_KILL) start in the payload
  std::size_t id_len = 0;  // how many bytes they take
  bool process_kill = false;
};

std::optional<KillCommand> parse_kill(ByteView payload);

// The payload with the id replaced by another (decimal digits, or the 4 bytes).
Bytes with_kill_id(ByteView payload, const KillCommand& kill, std::uint32_t id);

}  // namespace snigate::wire::mysql
