#pragma once
// The head of an HTTP/1.x request, as the admin server needs it: method,
// target, version, and the three headers that decide how the connection goes
// on (Connection, Content-Length, Transfer-Encoding). Pure and bounded: the
// head must fit in max_head bytes, and every malformed case names its cause
// and the status to answer with.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace snigate::wire {

struct HttpRequestHead {
  std::string_view method;
  std::string_view target;   // as sent: origin form, "/path?query"
  int minor_version = 1;     // HTTP/1.<minor>
  std::size_t size = 0;      // bytes of the head, the blank line included
  bool keep_alive = true;    // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "keep-alive"
  bool has_body = false;     // a Content-Length above 0, or any Transfer-Encoding
};

enum class HttpParse { need_more, complete, bad };

struct HttpParseResult {
  HttpParse status = HttpParse::need_more;
  HttpRequestHead head;  // complete: views into the bytes parsed
  int http_status = 0;   // bad: 400, 414 (request line too long), 431 (head too long), 505
  std::string error;     // bad: what is wrong, and where
};

// Parses the head at the start of bytes. need_more while no blank line has
// come and the head is still within its limits.
HttpParseResult parse_http_request_head(std::string_view bytes, std::size_t max_line = 8192,
                                        std::size_t max_head = 16384);

// Splits an origin-form target into its percent-decoded path and query
// parameters ("+" in the query is a space). false with error on a target that
// is not "/...", a bad %XX, or a NUL byte after decoding.
bool split_http_target(std::string_view target, std::string& path,
                       std::vector<std::pair<std::string, std::string>>& query, std::string& error);

}  // namespace snigate::wire
