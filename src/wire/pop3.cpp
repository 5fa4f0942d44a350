#include "wire/pop3.hpp"

#include "wire/text_line.hpp"

namespace snigate::wire {

namespace {

Pop3Response bad(std::string error) {
  Pop3Response r;
  r.status = Pop3Status::bad;
  r.error = std::move(error);
  return r;
}

// "+OK" or "-ERR", then the end of the line or a space and text.
bool status_line(std::string_view line, Pop3Response& r) {
  for (const std::string_view word : {std::string_view("+OK"), std::string_view("-ERR")}) {
    if (!line.starts_with(word) || (line.size() > word.size() && line[word.size()] != ' ')) continue;
    r.ok = word == "+OK";
    r.text = line.size() > word.size() ? line.substr(word.size() + 1) : std::string_view();
    return true;
  }
  return false;
}

}  // namespace

Pop3Response parse_pop3_response(std::string_view bytes, bool multi_line, std::size_t max_line,
                                 std::size_t max_lines) {
  Pop3Response r;
  const LineResult first = next_text_line(bytes, max_line);
  if (first.status == LineStatus::too_long)
    return bad("the status line is longer than " + std::to_string(max_line) + " bytes");
  if (first.status == LineStatus::need_more) return r;
  if (!status_line(first.line.text, r)) return bad("the response starts with neither \"+OK\" nor \"-ERR\"");
  std::size_t at = first.line.size;
  if (multi_line && r.ok) {
    for (std::size_t n = 0;; ++n) {
      if (n == max_lines) return bad("the response has more than " + std::to_string(max_lines) + " lines");
      const LineResult l = next_text_line(bytes.substr(at), max_line);
      if (l.status == LineStatus::too_long)
        return bad("line " + std::to_string(n + 1) + " of the response (at byte " + std::to_string(at) +
                   ") is longer than " + std::to_string(max_line) + " bytes");
      if (l.status == LineStatus::need_more) return Pop3Response{};
      at += l.line.size;
      if (l.line.text == ".") break;
      r.lines.push_back(l.line.text.starts_with('.') ? l.line.text.substr(1) : l.line.text);
    }
  }
  r.status = Pop3Status::complete;
  r.size = at;
  return r;
}

}  // namespace snigate::wire
