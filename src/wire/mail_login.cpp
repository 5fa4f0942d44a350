#include "wire/mail_login.hpp"

#include <optional>

#include "wire/base64.hpp"

namespace snigate::wire {

namespace {

// RFC 5321 4.5.3.1.1 and common sense: a login name of more than this is not
// one snigate needs to route.
constexpr std::size_t kMaxUser = 320;

LoginUser fail(std::string error) { return {{}, std::move(error)}; }

LoginUser checked(std::string user, std::string_view what) {
  if (user.empty()) return fail(std::string(what) + " is empty");
  if (user.size() > kMaxUser) return fail(std::string(what) + " is longer than " + std::to_string(kMaxUser) + " bytes");
  for (const char ch : user)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return fail(std::string(what) + " holds a control byte");
  return {std::move(user), {}};
}

// An IMAP quoted string at the start of s: '\' escapes '"' and '\' only.
std::optional<std::string> quoted(std::string_view s) {
  std::string out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch == '"') return out;
    if (ch == '\\') {
      if (++i == s.size() || (s[i] != '"' && s[i] != '\\')) return std::nullopt;
      out += s[i];
    } else {
      out += ch;
    }
  }
  return std::nullopt;  // no closing quote
}

}  // namespace

LoginUser imap_login_user(std::string_view arguments) {
  if (arguments.empty()) return fail("LOGIN has no arguments");
  if (arguments.front() == '{') return fail("the user name is a literal");
  if (arguments.front() == '"') {
    std::optional<std::string> user = quoted(arguments);
    if (!user) return fail("the user name's quoted string does not end");
    return checked(std::move(*user), "the user name");
  }
  return checked(std::string(arguments.substr(0, arguments.find(' '))), "the user name");
}

LoginUser sasl_plain_user(std::string_view base64) {
  const std::optional<std::string> decoded = base64_decode(base64);
  if (!decoded) return fail("the PLAIN response is not base64");
  const std::string_view d = *decoded;
  const std::size_t first = d.find('\0');
  const std::size_t second = first == std::string_view::npos ? first : d.find('\0', first + 1);
  if (second == std::string_view::npos) return fail("the PLAIN response is not authzid NUL authcid NUL password");
  return checked(std::string(d.substr(first + 1, second - first - 1)), "the PLAIN authentication identity");
}

LoginUser sasl_login_user(std::string_view base64) {
  const std::optional<std::string> decoded = base64_decode(base64);
  if (!decoded) return fail("the LOGIN user name is not base64");
  return checked(*decoded, "the LOGIN user name");
}

std::string_view login_domain(std::string_view user) {
  const std::size_t at = user.rfind('@');
  return at == std::string_view::npos ? std::string_view() : user.substr(at + 1);
}

}  // namespace snigate::wire
