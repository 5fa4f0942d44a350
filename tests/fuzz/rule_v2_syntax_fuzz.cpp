// Rewrites arbitrary bytes as a Traefik v2 rule; what rewrites must be v3 text
// that the v3 parser either compiles or refuses with an error inside it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "rule/rule.hpp"
#include "rule/v2_syntax.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view v2(reinterpret_cast<const char*>(data), size);
  const auto v3 = snigate::rule::v2_to_v3(v2);
  if (const auto* err = std::get_if<snigate::rule::ParseError>(&v3)) {
    if (err->offset > v2.size() || err->message.empty()) __builtin_trap();
    return 0;
  }
  const std::string& text = std::get<std::string>(v3);
  const auto parsed = snigate::rule::parse(text);
  if (const auto* err = std::get_if<snigate::rule::ParseError>(&parsed)) {
    if (err->offset > text.size() || err->message.empty()) __builtin_trap();
  }
  return 0;
}
