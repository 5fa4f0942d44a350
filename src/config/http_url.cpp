#include "config/http_url.hpp"

#include <algorithm>
#include <cctype>

namespace snigate::config {

std::optional<HttpUrl> parse_http_url(std::string_view url, std::string& why) {
  constexpr std::string_view scheme = "http://";
  const bool http = url.size() >= scheme.size() &&
                    std::equal(scheme.begin(), scheme.end(), url.begin(),
                               [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
  if (!http) {
    why = "only http:// responder URLs are supported";
    return std::nullopt;
  }
  if (std::ranges::any_of(url, [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
    why = "a URL must not contain spaces or control characters";
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme.size());
  const std::size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  HttpUrl out;
  out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.path.front() != '/') out.path.insert(0, 1, '/');
  if (auto hash = out.path.find('#'); hash != std::string::npos) out.path.resize(hash);
  if (authority.find('@') != std::string_view::npos) {
    why = "user information (user@host) is not supported in a responder URL";
    return std::nullopt;
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "an IPv6 address lacks its closing ]";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      why = "unexpected text after the IPv6 address";
      return std::nullopt;
    }
    if (!after.empty()) port = after.substr(1);
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    why = "the URL names no host";
    return std::nullopt;
  }
  out.port = port.empty() ? "80" : std::string(port);
  const bool digits = port.size() <= 5 && std::ranges::all_of(port, [](unsigned char c) { return std::isdigit(c); });
  if (!digits || std::stoi(out.port) < 1 || std::stoi(out.port) > 65535) {
    why = "the port must be a number from 1 to 65535";
    return std::nullopt;
  }
  return out;
}

}  // namespace snigate::config
