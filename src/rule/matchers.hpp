#pragma once
// The four TCP matchers: which names exist, and how each validates and
// compiles its arguments into a leaf Node.
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rule/ast.hpp"

namespace snigate::rule {

struct Arg {
  std::string value;
  std::size_t offset = 0;  // of the opening quote
};

// The matcher's own name (HostSNI, ...) for any spelling Traefik accepts:
// as written, lower case, upper case or Title case; nullopt otherwise.
std::optional<std::string_view> canonical_matcher(std::string_view name);

class Lexer;

// A matcher's quoted arguments (`a`, `b`) up to its closing parenthesis, which
// is left for the caller. What was expected instead, when a comma is followed
// by no argument.
std::optional<std::string> take_args(Lexer& lex, std::vector<Arg>& args);

// Why `name` (at `offset`) is not a TCP matcher, if it is not.
std::optional<ParseError> check_matcher_name(std::string_view name, std::size_t offset);

// A leaf for a known matcher name; `text` is the call as written, `offset` the
// closing parenthesis (where a missing argument is reported).
std::variant<Node, ParseError> make_matcher(std::string_view name, std::size_t offset, std::vector<Arg> args,
                                            std::string text);

}  // namespace snigate::rule
