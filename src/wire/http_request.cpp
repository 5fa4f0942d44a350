#include "wire/http_request.hpp"

#include <algorithm>
#include <charconv>

namespace snigate::wire {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20) || x == y;
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c > 0x20 && c < 0x7f && std::string_view("()<>@,;:\\\"/[]?={}").find(static_cast<char>(c)) == std::string_view::npos;
  });
}

HttpParseResult bad(int status, std::string error) {
  HttpParseResult r;
  r.status = HttpParse::bad;
  r.http_status = status;
  r.error = std::move(error);
  return r;
}

// "GET /x HTTP/1.1" into the head.
HttpParseResult parse_request_line(std::string_view line, HttpRequestHead& h) {
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return bad(400, "request line: expected \"METHOD TARGET HTTP/1.x\"");
  h.method = line.substr(0, sp1);
  h.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(h.method)) return bad(400, "request line: the method is not a token");
  if (h.target.empty() || std::any_of(h.target.begin(), h.target.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; }))
    return bad(400, "request line: the target is empty or holds a control byte");
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' || version[7] > '9')
    return bad(version.starts_with("HTTP/") ? 505 : 400, "request line: only HTTP/1.x is served");
  h.minor_version = version[7] - '0';
  h.keep_alive = h.minor_version >= 1;
  return {};
}

// One "Name: value" line; only what decides the connection's fate is kept.
HttpParseResult parse_header(std::string_view line, std::size_t offset, HttpRequestHead& h) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
    return bad(400, "header at byte " + std::to_string(offset) + ": expected \"Name: value\"");
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim(line.substr(colon + 1));
  if (iequal(name, "Connection")) {
    if (iequal(value, "close")) h.keep_alive = false;
    else if (iequal(value, "keep-alive")) h.keep_alive = true;
  } else if (iequal(name, "Content-Length")) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size())
      return bad(400, "header at byte " + std::to_string(offset) + ": Content-Length is not a number");
    h.has_body = h.has_body || n > 0;
  } else if (iequal(name, "Transfer-Encoding")) {
    h.has_body = true;
  }
  return {};
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
  return -1;
}

bool decode(std::string_view in, bool plus_is_space, std::string& out, std::string& error) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      const int hi = i + 2 < in.size() ? hex(in[i + 1]) : -1;
      const int lo = hi >= 0 ? hex(in[i + 2]) : -1;
      if (lo < 0) {
        error = "bad percent-encoding at offset " + std::to_string(i) + " of the target";
        return false;
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') {
      error = "a NUL byte in the target";
      return false;
    }
    out += c;
  }
  return true;
}

}  // namespace

HttpParseResult parse_http_request_head(std::string_view bytes, std::size_t max_line, std::size_t max_head) {
  HttpParseResult r;
  std::size_t pos = 0;
  for (bool first = true;; first = false) {
    const std::size_t nl = bytes.find('\n', pos);
    if (first && (nl == std::string_view::npos ? bytes.size() : nl) > max_line)
      return bad(414, "request line longer than " + std::to_string(max_line) + " bytes");
    if ((nl == std::string_view::npos ? bytes.size() : nl + 1) > max_head)
      return bad(431, "request head longer than " + std::to_string(max_head) + " bytes");
    if (nl == std::string_view::npos) return r;  // need_more
    std::string_view line = bytes.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    HttpParseResult e;
    if (first) e = parse_request_line(line, r.head);
    else if (line.empty()) {
      r.head.size = nl + 1;
      r.status = HttpParse::complete;
      return r;
    } else if (line.front() == ' ' || line.front() == '\t')
      e = bad(400, "header at byte " + std::to_string(pos) + ": folded header lines are not accepted");
    else e = parse_header(line, pos, r.head);
    if (e.status == HttpParse::bad) return e;
    pos = nl + 1;
  }
}

bool split_http_target(std::string_view target, std::string& path,
                       std::vector<std::pair<std::string, std::string>>& query, std::string& error) {
  query.clear();
  if (target.empty() || target.front() != '/') {
    error = "the target must start with \"/\"";
    return false;
  }
  const auto q = target.find('?');
  std::string_view raw_query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  if (auto hash = raw_query.find('#'); hash != std::string_view::npos) raw_query = raw_query.substr(0, hash);
  if (!decode(target.substr(0, q), false, path, error)) return false;
  while (!raw_query.empty()) {
    const auto amp = raw_query.find('&');
    const std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string k, v;
    if (!decode(pair.substr(0, eq), true, k, error)) return false;
    if (eq != std::string_view::npos && !decode(pair.substr(eq + 1), true, v, error)) return false;
    query.emplace_back(std::move(k), std::move(v));
  }
  return true;
}

}  // namespace snigate::wire
