// Reads arbitrary bytes as a MySQL command payload. A KILL that is recognised
// must, with its id replaced, still be recognised as the same KILL naming the
// new id: the rewrite may change nothing else.
#include <cstddef>
#include <cstdint>

#include "wire/mysql_kill.hpp"

namespace wm = snigate::wire::mysql;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const wm::ByteView payload(data, size);
  const auto kill = wm::parse_kill(payload);
  if (!kill) return 0;
  if (kill->id_at + kill->id_len > size) __builtin_trap();
  constexpr std::uint32_t kOther = 4000000001u;
  const wm::Bytes rewritten = wm::with_kill_id(payload, *kill, kOther);
  if (rewritten.size() > wm::kMaxKillPayload) return 0;  // a longer id may pass the length limit
  const auto again = wm::parse_kill(wm::ByteView(rewritten.data(), rewritten.size()));
  if (!again || again->id != kOther || again->process_kill != kill->process_kill) __builtin_trap();
  // Everything before the id is untouched.
  for (std::size_t i = 0; i < kill->id_at; ++i)
    if (rewritten[i] != data[i]) __builtin_trap();
  return 0;
}
