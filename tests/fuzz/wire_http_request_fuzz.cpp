// libFuzzer target for the admin server's request-head parser and target
// splitter. Besides the whole input it replays every prefix (the server
// parses again after each read) and checks what the server relies on: a
// verdict does not change when more bytes come, a complete head never
// claims more bytes than it was given, and every refusal has a status and a
// reason.
#include <cstdlib>
#include <string>
#include <string_view>

#include "wire/http_request.hpp"

namespace {

namespace wire = snigate::wire;

void check(bool ok) {
  if (!ok) std::abort();
}

wire::HttpParseResult run(std::string_view bytes) {
  wire::HttpParseResult r = wire::parse_http_request_head(bytes, 256, 1024);
  if (r.status == wire::HttpParse::bad) check(r.http_status >= 400 && !r.error.empty());
  if (r.status == wire::HttpParse::complete) {
    check(r.head.size > 0 && r.head.size <= bytes.size() && r.head.size <= 1024);
    std::string path, error;
    std::vector<std::pair<std::string, std::string>> query;
    if (wire::split_http_target(r.head.target, path, query, error)) check(!path.empty() && path[0] == '/');
    else check(!error.empty());
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const wire::HttpParseResult whole = run(all);
  for (std::size_t n = 0; n < size; ++n) {
    const wire::HttpParseResult part = run(all.substr(0, n));
    if (part.status == wire::HttpParse::complete) check(whole.status == wire::HttpParse::complete && whole.head.size == part.head.size);
    if (part.status == wire::HttpParse::bad) check(whole.status == wire::HttpParse::bad);
  }
  return 0;
}
