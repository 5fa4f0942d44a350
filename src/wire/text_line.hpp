#pragma once
// Lines of the text protocols whose TLS starts inside them (SMTP, POP3, IMAP):
// where a line ends, and a command's verb and argument. Pure and bounded:
// a line must end within max_line bytes, its terminator included.
#include <cstddef>
#include <string>
#include <string_view>

namespace snigate::wire {

struct TextLine {
  std::string_view text;  // without its line end
  std::size_t size = 0;   // with it
  bool bare_lf = false;   // ended by LF alone, not CRLF (servers differ on whether to take it)
};

enum class LineStatus { need_more, line, too_long };

struct LineResult {
  LineStatus status = LineStatus::need_more;
  TextLine line;  // status line: the first line of bytes
};

LineResult next_text_line(std::string_view bytes, std::size_t max_line);

// "VERB argument": a verb of ASCII letters, upper-cased (SMTP and POP3 take
// commands in any case), then nothing, or one space and the rest as it is.
struct TextCommand {
  std::string verb;
  std::string_view argument;
  std::string error;  // not a command: what is wrong, and at which byte
};

TextCommand parse_text_command(std::string_view line);

// "0x0d": a byte in an error message.
std::string hex_byte(char c);

// ASCII letters upper-cased, other bytes as they are: verbs, keywords and
// status words of these protocols compare in any case.
std::string ascii_upper(std::string_view s);

}  // namespace snigate::wire
