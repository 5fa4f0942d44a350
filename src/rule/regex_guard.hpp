#pragma once
// HostSNIRegexp patterns come from configuration, which may be hostile or just
// careless. std::regex compiles recursively and expands `{n,m}` by copying
// states, so a short pattern can exhaust the stack or memory; these checks
// bound both before std::regex sees the pattern.
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <variant>

namespace snigate::rule {

inline constexpr std::size_t kMaxRegexLength = 1024;
inline constexpr std::size_t kMaxRegexNesting = 32;
inline constexpr std::size_t kMaxRegexStates = 4096;

// Why the pattern is refused, if it is.
std::optional<std::string> regex_too_complex(std::string_view pattern);

// The compiled pattern (case-insensitive, linear-time matching where the
// library offers it), or the library's complaint.
std::variant<std::regex, std::string> compile_regex(std::string_view pattern);

}  // namespace snigate::rule
