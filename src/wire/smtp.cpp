#include "wire/smtp.hpp"

#include "wire/text_line.hpp"

namespace snigate::wire {

namespace {

// A reply code: 2 to 5, then 0 to 5, then any digit (RFC 5321 4.2); -1 if not.
int reply_code(std::string_view text) {
  if (text.size() < 3 || text[0] < '2' || text[0] > '5' || text[1] < '0' || text[1] > '5' || text[2] < '0' ||
      text[2] > '9')
    return -1;
  return (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
}

std::string at_line(std::size_t n, std::size_t at) {
  return "reply line " + std::to_string(n + 1) + " (at byte " + std::to_string(at) + ")";
}

SmtpReplyResult bad(std::string error) {
  SmtpReplyResult r;
  r.status = ReplyStatus::bad;
  r.error = std::move(error);
  return r;
}

}  // namespace

SmtpReplyResult parse_smtp_reply(std::string_view bytes, std::size_t max_line, std::size_t max_lines) {
  SmtpReplyResult r;
  std::size_t at = 0;
  for (std::size_t n = 0;; ++n) {
    if (n == max_lines) return bad("the reply has more than " + std::to_string(max_lines) + " lines");
    const LineResult l = next_text_line(bytes.substr(at), max_line);
    if (l.status == LineStatus::too_long)
      return bad(at_line(n, at) + " is longer than " + std::to_string(max_line) + " bytes");
    if (l.status == LineStatus::need_more) return SmtpReplyResult{};
    const std::string_view text = l.line.text;
    const int code = reply_code(text);
    if (code < 0) return bad(at_line(n, at) + " does not start with a reply code (2xx to 5xx)");
    if (n > 0 && code != r.reply.code)
      return bad(at_line(n, at) + " has code " + std::to_string(code) + ", the lines before it " +
                 std::to_string(r.reply.code));
    const char sep = text.size() > 3 ? text[3] : ' ';
    if (sep != ' ' && sep != '-')
      return bad(at_line(n, at) + ": the code is followed by " + hex_byte(sep) + ", not a space or '-'");
    r.reply.code = code;
    r.reply.lines.push_back(text.size() > 4 ? text.substr(4) : std::string_view());
    at += l.line.size;
    if (sep == ' ') break;
  }
  r.status = ReplyStatus::complete;
  r.reply.size = at;
  return r;
}

std::vector<EhloExtension> ehlo_extensions(const SmtpReply& reply) {
  std::vector<EhloExtension> out;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    const std::string_view line = reply.lines[i];
    const std::size_t space = line.find(' ');
    EhloExtension e;
    e.keyword = ascii_upper(line.substr(0, space));
    if (space != std::string_view::npos) e.params = line.substr(space + 1);
    if (!e.keyword.empty()) out.push_back(std::move(e));
  }
  return out;
}

std::string smtp_reply(int code, std::string_view status, std::string_view text) {
  const std::string head = std::to_string(code);
  const std::string lead = status.empty() ? std::string() : std::string(status) + " ";
  // 512 with CRLF: the code and its separator, the status, and the text.
  const std::size_t room = 512 - 2 - 4 - lead.size();
  std::string clean(text);
  for (char& ch : clean)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
  std::string out;
  std::string_view rest = clean;
  do {
    std::size_t take = rest.size();
    if (take > room) {
      const std::size_t space = rest.rfind(' ', room);
      take = space == std::string_view::npos || space == 0 ? room : space;
    }
    std::string_view piece = rest.substr(0, take);
    rest.remove_prefix(take);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    out += head;
    out += rest.empty() ? ' ' : '-';
    out += lead;
    out += piece;
    out += "\r\n";
  } while (!rest.empty());
  return out;
}

}  // namespace snigate::wire
