#include "wire/imap.hpp"

#include "wire/text_line.hpp"

namespace snigate::wire {

namespace {

// RFC 9051's ATOM-CHAR: any CHAR but atom-specials.
bool atom_char(char c) {
  const auto b = static_cast<unsigned char>(c);
  if (b <= 0x20 || b >= 0x7f) return false;
  return std::string_view("(){%*\"\\]").find(c) == std::string_view::npos;
}

// The word at the start of s, up to a space or the end.
std::string_view word(std::string_view s) { return s.substr(0, s.find(' ')); }

std::string_view after_word(std::string_view s) {
  const std::size_t sp = s.find(' ');
  return sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
}

// "{n}" or "{n+}" at the end of the line.
void find_literal(ImapCommand& c, std::size_t max_literal) {
  const std::string_view a = c.arguments;
  if (!a.ends_with('}')) return;
  const std::size_t open = a.rfind('{');
  if (open == std::string_view::npos) return;
  std::string_view n = a.substr(open + 1, a.size() - open - 2);
  c.literal_plus = n.ends_with('+');
  if (c.literal_plus) n.remove_suffix(1);
  if (n.empty() || n.size() > 10) return;
  std::size_t v = 0;
  for (const char ch : n) {
    if (ch < '0' || ch > '9') return;
    v = v * 10 + static_cast<std::size_t>(ch - '0');
  }
  c.has_literal = true;
  c.literal = v;
  if (v > max_literal)
    c.error = "the command announces a literal of " + std::to_string(v) + " bytes, more than " +
              std::to_string(max_literal);
}

}  // namespace

ImapCommand parse_imap_command(std::string_view line, std::size_t max_literal) {
  ImapCommand c;
  c.tag = word(line);
  for (std::size_t i = 0; i < c.tag.size(); ++i)
    if (!atom_char(c.tag[i]) || c.tag[i] == '+') {
      c.error = "byte " + std::to_string(i) + " of the tag is " + hex_byte(c.tag[i]) + ", which a tag cannot hold";
      return c;
    }
  if (c.tag.empty()) {
    c.error = "the command has no tag";
    return c;
  }
  const std::string_view rest = after_word(line);
  const std::string_view name = word(rest);
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!atom_char(name[i])) {
      c.error = "byte " + std::to_string(c.tag.size() + 1 + i) + " of the command is " + hex_byte(name[i]) +
                ", which a command name cannot hold";
      return c;
    }
  if (name.empty()) {
    c.error = "the command has a tag but no name";
    return c;
  }
  c.name = ascii_upper(name);
  c.arguments = after_word(rest);
  find_literal(c, max_literal);
  return c;
}

ImapResponse parse_imap_response(std::string_view line) {
  ImapResponse r;
  std::string_view rest;
  if (line.starts_with("+")) {
    r.kind = ImapResponseKind::continuation;
    r.text = line.size() > 2 ? line.substr(2) : std::string_view();
    return r;
  }
  if (line.starts_with("* ")) {
    rest = line.substr(2);
  } else {
    r.kind = ImapResponseKind::tagged;
    r.tag = word(line);
    rest = after_word(line);
    if (r.tag.empty() || rest.empty()) {
      r.error = "the response is neither untagged (\"* \"), a continuation (\"+\") nor tagged (\"tag status\")";
      return r;
    }
  }
  r.status = ascii_upper(word(rest));
  if (r.status.empty()) {
    r.error = "the response has no status";
    return r;
  }
  rest = after_word(rest);
  if (rest.starts_with('[')) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      r.error = "the response code \"[\" is not closed";
      return r;
    }
    r.code = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (rest.starts_with(' ')) rest.remove_prefix(1);
  }
  r.text = rest;
  return r;
}

std::vector<std::string> imap_capabilities(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const std::string_view w = word(list);
    if (!w.empty()) out.push_back(ascii_upper(w));
    list = after_word(list);
  }
  return out;
}

}  // namespace snigate::wire
