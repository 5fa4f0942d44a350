#include "wire/mysql_kill.hpp"

#include <string>

namespace snigate::wire::mysql {

namespace {

bool is_space(std::uint8_t b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r'; }
bool is_digit(std::uint8_t b) { return b >= '0' && b <= '9'; }
bool is_word(std::uint8_t b) { return is_digit(b) || b == '_' || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z'); }

// A cursor over the query text, case-insensitive for keywords.
struct Text {
  ByteView s;
  std::size_t at = 0;

  std::size_t skip_space() {
    const std::size_t from = at;
    while (at < s.size() && is_space(s[at])) ++at;
    return at - from;
  }
  // The keyword as a whole word (not the start of a longer one).
  bool keyword(std::string_view word) {
    if (s.size() - at < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i)
      if ((s[at + i] | 0x20) != word[i]) return false;
    if (at + word.size() < s.size() && is_word(s[at + word.size()])) return false;
    at += word.size();
    return true;
  }
};

}  // namespace

std::optional<KillCommand> parse_kill(ByteView payload) {
  if (payload.empty()) return std::nullopt;
  if (payload[0] == COM_PROCESS_KILL) {
    if (payload.size() != 5) return std::nullopt;
    const std::uint32_t id =
        payload[1] | payload[2] << 8 | payload[3] << 16 | static_cast<std::uint32_t>(payload[4]) << 24;
    return KillCommand{id, 1, 4, true};
  }
  if (payload[0] != COM_QUERY || payload.size() > kMaxKillPayload) return std::nullopt;
  Text t{payload.subspan(1)};
  t.skip_space();
  if (!t.keyword("kill") || t.skip_space() == 0) return std::nullopt;
  if (t.keyword("hard") || t.keyword("soft"))
    if (t.skip_space() == 0) return std::nullopt;
  if (t.keyword("query") || t.keyword("connection"))
    if (t.skip_space() == 0) return std::nullopt;
  const std::size_t digits_at = t.at;
  std::uint64_t id = 0;
  while (t.at < t.s.size() && is_digit(t.s[t.at])) {
    // 19 digits always fit in 64 bits; a longer number is not an id snigate issued.
    if (t.at - digits_at == 19) return std::nullopt;
    id = id * 10 + (t.s[t.at] - '0');
    ++t.at;
  }
  const std::size_t digits = t.at - digits_at;
  if (digits == 0 || (t.at < t.s.size() && is_word(t.s[t.at]))) return std::nullopt;
  t.skip_space();
  if (t.at < t.s.size() && t.s[t.at] == ';') {
    ++t.at;
    t.skip_space();
  }
  if (t.at != t.s.size()) return std::nullopt;
  return KillCommand{id, 1 + digits_at, digits, false};
}

Bytes with_kill_id(ByteView payload, const KillCommand& kill, std::uint32_t id) {
  Bytes out(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(kill.id_at));
  if (kill.process_kill) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(id >> (8 * i)));
  } else {
    const std::string digits = std::to_string(id);
    out.insert(out.end(), digits.begin(), digits.end());
  }
  out.insert(out.end(), payload.begin() + static_cast<std::ptrdiff_t>(kill.id_at + kill.id_len), payload.end());
  return out;
}

}  // namespace snigate::wire::mysql
