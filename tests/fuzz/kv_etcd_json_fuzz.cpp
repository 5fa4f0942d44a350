// libFuzzer target for the etcd client's decoders: the input is taken as a
// range answer, a watch line, an error answer and base64 text. Checks what the
// client relies on: a refusal always says why, decoded events apply to a map
// without ever lowering the revision, and base64 round-trips both ways.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wire/base64.hpp"
#include "kv/etcd_json.hpp"

namespace {

namespace kv = snigate::kv;
namespace wire = snigate::wire;

void check(bool ok) {
  if (!ok) std::abort();
}

void watch_line(std::string_view text) {
  kv::WatchMessage m;
  std::string error;
  if (!kv::decode_watch_line(text, m, error)) {
    check(!error.empty());
    return;
  }
  snigate::config::KvPairs pairs;
  std::int64_t revision = 0;
  const auto changed = kv::apply_events(pairs, m.events, revision);
  check(changed.size() <= m.events.size() && pairs.size() <= m.events.size());
  for (const auto& ev : m.events) check(revision >= ev.mod_revision);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  kv::RangeResult range;
  std::string error;
  if (!kv::decode_range(text, range, error)) check(!error.empty());
  watch_line(text);
  (void)kv::classify_error(kv::error_message(text));
  if (const auto decoded = wire::base64_decode(text)) check(wire::base64_encode(*decoded) == text);
  check(wire::base64_decode(wire::base64_encode(text)) == std::string(text));
  const std::string end = kv::prefix_range_end(text);
  check(end == std::string(1, '\0') || (end > std::string(text) && end.size() <= text.size()));
  return 0;
}
