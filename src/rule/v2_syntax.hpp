#pragma once
// Traefik v2 rule syntax, which Traefik v3 still reads for routers with
// `ruleSyntax: v2` (or under `core.defaultRuleSyntax: v2`). A v2 rule is
// rewritten into the v3 rule with the same meaning, which the v3 parser then
// compiles, so matching has one implementation.
#include <string>
#include <string_view>
#include <variant>

#include "rule/rule.hpp"

namespace snigate::rule {

// The v3 spelling of a v2 rule, e.g. HostSNI(`a.test`, `b.test`) becomes
// HostSNI(`a.test`) || HostSNI(`b.test`) and HostSNIRegexp(`{sub}.test`)
// becomes HostSNIRegexp(`^(?:[^.]+)\.test$`). Operators, parentheses and
// spaces between matchers are kept as written. An error's offset is in `v2`.
std::variant<std::string, ParseError> v2_to_v3(std::string_view v2);

// The anchored regex of one v2 HostSNIRegexp template: literal parts escaped,
// {name} as [^.]+, {name:regex} as (?:regex), all in lower case because the
// SNI is compared in lower case (v2 matched case-insensitively). The text is
// valid in both RE2 and ECMAScript. `offset` is where `tmpl` starts in the rule.
std::variant<std::string, ParseError> v2_template_regex(std::string_view tmpl, std::size_t offset);

}  // namespace snigate::rule
