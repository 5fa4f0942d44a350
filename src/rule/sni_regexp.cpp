#include "rule/sni_regexp.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include "rule/sni_regexp_options.hpp"

namespace snigate::rule {

namespace {

// Past this length a pattern is compiled when parsed: RE2 refuses a program
// too large for its memory budget only when compiling, and a short pattern
// cannot get there (RE2's parser already bounds nested repetition).
constexpr std::size_t kCompileNowFrom = 512;

}  // namespace

re2::RE2::Options sni_regexp_options() {
  re2::RE2::Options options;  // UTF-8, Perl-like syntax: what Go's regexp.Compile reads
  options.set_log_errors(false);  // the caller reports the error, naming the router
  options.set_never_capture(true);  // groups only group: nothing reads a submatch
  return options;
}

SniRegexp::SniRegexp(std::string pattern) : pattern_(std::move(pattern)) {}

SniRegexp::~SniRegexp() = default;

const re2::RE2& SniRegexp::re2() const {
  std::call_once(once_, [this] {
    compiled_ = std::make_unique<const re2::RE2>(re2::StringPiece(pattern_.data(), pattern_.size()),
                                                 sni_regexp_options());
  });
  return *compiled_;
}

std::variant<std::shared_ptr<const SniRegexp>, std::string> compile_sni_regexp(std::string_view pattern) {
  for (char c : pattern) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return std::string("non-ASCII characters are not allowed (as in Traefik); "
                         "write internationalized names in their xn-- (punycode) form");
    }
  }
  auto regex = std::make_shared<const SniRegexp>(std::string(pattern));
  if (pattern.size() >= kCompileNowFrom) {
    if (!regex->re2().ok()) return regex->re2().error();
    return regex;
  }
  // Parsing alone finds every error a short pattern can have, in a seventh
  // of the time compiling takes; RE2 has no public parse, a set's Add is one.
  re2::RE2::Set check(sni_regexp_options(), re2::RE2::UNANCHORED);
  std::string error;
  if (check.Add(re2::StringPiece(pattern.data(), pattern.size()), &error) < 0) return error;
  return regex;
}

bool sni_regexp_matches(const SniRegexp& regex, std::string_view sni) {
  const re2::RE2& re = regex.re2();
  return re.ok() && re2::RE2::PartialMatch(re2::StringPiece(sni.data(), sni.size()), re);
}

}  // namespace snigate::rule
