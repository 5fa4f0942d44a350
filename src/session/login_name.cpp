#include "session/login_name.hpp"

#include "rule/facts.hpp"

namespace snigate::session {

namespace {

// "127.0.0.1", "::1", and an IPv6 address in brackets as some clients write it.
bool is_ip_literal(std::string_view name) {
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  return IpAddress::parse(name).has_value();
}

}  // namespace

bool routes_by_user_host(std::string_view sni, std::string_view user_host) {
  return !user_host.empty() && (sni.empty() || is_ip_literal(sni));
}

}  // namespace snigate::session
