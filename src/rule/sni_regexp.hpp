#pragma once
// HostSNIRegexp patterns, compiled with RE2: the syntax of Go's regexp package,
// which Traefik uses, and matching in time linear in the name whatever the
// pattern, so a configuration cannot make routing slow.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

namespace re2 {
class RE2;
}

namespace snigate::rule {

// A pattern, checked when its rule is parsed and compiled into an RE2 of its
// own only when a client is first matched against it alone. An entry point's
// RE2::Set (sni_regexp_set) already says which of its patterns match a name,
// so in a configuration of many patterns most are never compiled one by one,
// which is most of the load time and memory they would cost.
class SniRegexp {
 public:
  explicit SniRegexp(std::string pattern);
  ~SniRegexp();
  const std::string& pattern() const { return pattern_; }
  // Compiled once, by whichever thread needs it first.
  const re2::RE2& re2() const;

 private:
  std::string pattern_;
  mutable std::once_flag once_;
  mutable std::unique_ptr<const re2::RE2> compiled_;
};

// The pattern, or why it is refused: a non-ASCII pattern (as Traefik refuses
// it), or RE2's own message.
std::variant<std::shared_ptr<const SniRegexp>, std::string> compile_sni_regexp(std::string_view pattern);

// Whether the pattern matches anywhere in the name (Go's MatchString).
bool sni_regexp_matches(const SniRegexp& regex, std::string_view sni);

}  // namespace snigate::rule
