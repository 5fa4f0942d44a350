#pragma once
// HostSNIRegexp patterns, compiled with RE2: the syntax of Go's regexp package,
// which Traefik uses, and matching in time linear in the name whatever the
// pattern, so a configuration cannot make routing slow.
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace re2 {
class RE2;
}

namespace snigate::rule {

// The compiled pattern, or why it is refused: a non-ASCII pattern (as Traefik
// refuses it), or RE2's own message.
std::variant<std::shared_ptr<const re2::RE2>, std::string> compile_sni_regexp(std::string_view pattern);

// Whether the pattern matches anywhere in the name (Go's MatchString).
bool sni_regexp_matches(const re2::RE2& regex, std::string_view sni);

}  // namespace snigate::rule
