#pragma once
// HostSNI arguments: `*`, an exact name, or `*.suffix` for one label.
#include <optional>
#include <string>
#include <string_view>

namespace snigate::rule {

// Lowercases `name` and drops a trailing dot; returns why it is not a valid
// HostSNI argument, if it is not.
std::optional<std::string> normalize_host_pattern(std::string& name);

// `pattern` as normalized above; `sni` as the client sent it (compared
// ASCII-case-insensitively, a trailing dot ignored). Empty SNI only matches `*`.
bool host_matches(std::string_view pattern, std::string_view sni);

}  // namespace snigate::rule
