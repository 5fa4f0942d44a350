#pragma once
// POP3 responses (RFC 1939 3, RFC 2449): a status line, "+OK text" or
// "-ERR text", and for CAPA and the like a body of lines ending with a line
// of a single ".", each line that starts with "." sent with one more.
// Pure and bounded.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace snigate::wire {

enum class Pop3Status { need_more, complete, bad };

struct Pop3Response {
  Pop3Status status = Pop3Status::need_more;
  bool ok = false;                      // +OK (complete)
  std::string_view text;                // after "+OK " or "-ERR "
  std::vector<std::string_view> lines;  // multi-line: the body, a leading "." of each line removed
  std::size_t size = 0;                 // bytes of the whole response
  std::string error;                    // bad: what is wrong, and where
};

// RFC 2449 4: a response line is at most 512 bytes with its CRLF. With
// multi_line, a +OK response is complete only once its body has ended (a
// -ERR has no body).
Pop3Response parse_pop3_response(std::string_view bytes, bool multi_line, std::size_t max_line = 512,
                                 std::size_t max_lines = 256);

}  // namespace snigate::wire
