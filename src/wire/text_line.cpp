#include "wire/text_line.hpp"

namespace snigate::wire {

std::string hex_byte(char c) {
  constexpr char digits[] = "0123456789abcdef";
  const auto b = static_cast<unsigned char>(c);
  return {'0', 'x', digits[b >> 4], digits[b & 15]};
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - ('a' - 'A'));
  return out;
}

LineResult next_text_line(std::string_view bytes, std::size_t max_line) {
  LineResult r;
  const std::size_t lf = bytes.substr(0, max_line).find('\n');
  if (lf == std::string_view::npos) {
    r.status = bytes.size() >= max_line ? LineStatus::too_long : LineStatus::need_more;
    return r;
  }
  r.status = LineStatus::line;
  r.line.size = lf + 1;
  r.line.bare_lf = lf == 0 || bytes[lf - 1] != '\r';
  r.line.text = bytes.substr(0, r.line.bare_lf ? lf : lf - 1);
  return r;
}

TextCommand parse_text_command(std::string_view line) {
  TextCommand c;
  std::size_t i = 0;
  for (; i < line.size() && line[i] != ' '; ++i) {
    const char ch = line[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) {
      c.error = "byte " + std::to_string(i) + " of the command is " + hex_byte(ch) + ", not a letter of its verb";
      return c;
    }
  }
  c.verb = ascii_upper(line.substr(0, i));
  if (c.verb.empty()) {
    c.error = "the command has no verb";
    return c;
  }
  if (i < line.size()) c.argument = line.substr(i + 1);
  return c;
}

}  // namespace snigate::wire
