#include "rule/lexer.hpp"

namespace snigate::rule {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

}  // namespace

const Token& Lexer::peek() {
  if (!next_) scan();
  return *next_;
}

Token Lexer::take() {
  peek();
  Token t = std::move(*next_);
  next_.reset();
  return t;
}

void Lexer::fail(std::size_t offset, std::string message) {
  // After an error every further token is kEnd, so the parser unwinds at once.
  if (!error_) error_ = ParseError{offset, std::move(message)};
  pos_ = text_.size();
  next_ = Token{Tok::kEnd, offset, offset, {}};
}

void Lexer::scan() {
  while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  const std::size_t start = pos_;
  if (error_ || pos_ >= text_.size()) {
    next_ = Token{Tok::kEnd, text_.size(), text_.size(), {}};
    return;
  }
  const char c = text_[pos_];
  auto single = [&](Tok kind, std::size_t len) {
    pos_ += len;
    next_ = Token{kind, start, pos_, std::string(text_.substr(start, len))};
  };
  const char after = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
  switch (c) {
    case '(': return single(Tok::kLParen, 1);
    case ')': return single(Tok::kRParen, 1);
    case ',': return single(Tok::kComma, 1);
    case '!': return single(Tok::kNot, 1);
    case '`': return scan_backquoted();
    case '"': return scan_double_quoted();
    case '&':
      if (after == '&') return single(Tok::kAnd, 2);
      return fail(start, "unexpected `&`; the AND operator is `&&`");
    case '|':
      if (after == '|') return single(Tok::kOr, 2);
      return fail(start, "unexpected `|`; the OR operator is `||`");
    case '\'':
      return fail(start, "strings are quoted with backquotes (`...`) or double quotes, not single quotes");
    default: break;
  }
  if (is_ident_start(c)) {
    while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
    next_ = Token{Tok::kIdent, start, pos_, std::string(text_.substr(start, pos_ - start))};
    return;
  }
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte >= 0x7f) {
    static constexpr char kHex[] = "0123456789abcdef";
    return fail(start, std::string("unexpected byte 0x") + kHex[byte >> 4] + kHex[byte & 15]);
  }
  fail(start, std::string("unexpected `") + c + "`");
}

void Lexer::scan_backquoted() {
  // Raw string, as in Go: no escapes, cannot contain a backquote.
  const std::size_t start = pos_;
  const std::size_t close = text_.find('`', start + 1);
  if (close == std::string_view::npos) return fail(start, "unterminated string: missing closing backquote");
  pos_ = close + 1;
  next_ = Token{Tok::kString, start, pos_, std::string(text_.substr(start + 1, close - start - 1))};
}

void Lexer::scan_double_quoted() {
  const std::size_t start = pos_;
  std::string value;
  ++pos_;
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c == '"') {
      ++pos_;
      next_ = Token{Tok::kString, start, pos_, std::move(value)};
      return;
    }
    if (c == '\n') break;  // Go's interpreted strings cannot span lines either
    if (c != '\\') {
      value.push_back(c);
      ++pos_;
      continue;
    }
    const char e = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    switch (e) {
      case '\\': value.push_back('\\'); break;
      case '"': value.push_back('"'); break;
      case 'n': value.push_back('\n'); break;
      case 't': value.push_back('\t'); break;
      default:
        // `\.` is the usual slip in a regex; a raw string needs no escaping.
        return fail(pos_, "unknown escape in double-quoted string; write regexes in backquotes, e.g. `^.+\\.example\\.com$`");
    }
    pos_ += 2;
  }
  fail(start, "unterminated string: missing closing double quote");
}

std::string describe(const Token& token) {
  switch (token.kind) {
    case Tok::kIdent: return "`" + token.value + "`";
    case Tok::kString: return "a string";
    case Tok::kLParen: return "`(`";
    case Tok::kRParen: return "`)`";
    case Tok::kComma: return "`,`";
    case Tok::kAnd: return "`&&`";
    case Tok::kOr: return "`||`";
    case Tok::kNot: return "`!`";
    case Tok::kEnd: return "the end of the rule";
  }
  return "?";
}

}  // namespace snigate::rule
