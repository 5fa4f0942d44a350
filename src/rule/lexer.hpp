#pragma once
// Splits rule text into tokens. Strings come out unquoted, so the parser never
// sees the difference between `raw` and "escaped" spellings.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "rule/rule.hpp"

namespace snigate::rule {

enum class Tok { kIdent, kString, kLParen, kRParen, kComma, kAnd, kOr, kNot, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::size_t offset = 0;  // of the first byte
  std::size_t end = 0;     // one past the last byte
  std::string value;       // identifier, or string contents after unquoting
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // The next token, or the error that stopped the lexer.
  const Token& peek();
  Token take();
  const std::optional<ParseError>& error() const { return error_; }

 private:
  void scan();
  void scan_backquoted();
  void scan_double_quoted();
  void fail(std::size_t offset, std::string message);

  std::string_view text_;
  std::size_t pos_ = 0;
  std::optional<Token> next_;
  std::optional<ParseError> error_;
};

// How a token is named in "expected X, found Y" messages.
std::string describe(const Token& token);

}  // namespace snigate::rule
