#pragma once
// http:// URLs as OCSP responders are named in certificates (and in
// ocsp.responderOverrides): plain HTTP, a host, an optional port and path.
#include <optional>
#include <string>
#include <string_view>

namespace snigate::config {

struct HttpUrl {
  std::string host;  // a name or an address; an IPv6 literal without its brackets
  std::string port;  // "80" when the URL gives none
  std::string path;  // "/" when the URL gives none; query kept
};

// nullopt with why for anything else: another scheme (https included, as
// OCSP responses are signed and responders serve plain HTTP), user info, an
// empty host, a port outside 1..65535, spaces or control characters.
std::optional<HttpUrl> parse_http_url(std::string_view url, std::string& why);

}  // namespace snigate::config
