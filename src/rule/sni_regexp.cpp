#include "rule/sni_regexp.hpp"

#include <re2/re2.h>

#include "rule/sni_regexp_options.hpp"

namespace snigate::rule {

re2::RE2::Options sni_regexp_options() {
  re2::RE2::Options options;  // UTF-8, Perl-like syntax: what Go's regexp.Compile reads
  options.set_log_errors(false);  // the caller reports the error, naming the router
  options.set_never_capture(true);  // groups only group: nothing reads a submatch
  return options;
}

std::variant<std::shared_ptr<const re2::RE2>, std::string> compile_sni_regexp(std::string_view pattern) {
  for (char c : pattern) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return std::string("non-ASCII characters are not allowed (as in Traefik); "
                         "write internationalized names in their xn-- (punycode) form");
    }
  }
  auto regex =
      std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), sni_regexp_options());
  if (!regex->ok()) return regex->error();
  return regex;
}

bool sni_regexp_matches(const re2::RE2& regex, std::string_view sni) {
  return re2::RE2::PartialMatch(re2::StringPiece(sni.data(), sni.size()), regex);
}

}  // namespace snigate::rule
