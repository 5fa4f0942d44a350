// Recursive descent over the grammar
//   or      := and ("||" and)*
//   and     := unary ("&&" unary)*
//   unary   := "!" unary | primary
//   primary := "(" or ")" | Matcher "(" string ("," string)* ")"
// Each "(" and "!" counts toward kMaxDepth, which bounds the recursion.
#include <utility>

#include "rule/ast.hpp"
#include "rule/lexer.hpp"
#include "rule/matchers.hpp"

namespace snigate::rule {
namespace {

constexpr std::size_t kMaxDepth = 64;
constexpr std::size_t kMaxLength = 64 * 1024;

using Result = std::variant<Node, ParseError>;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), lex_(text) {}

  Result rule() {
    Result root = disjunction();
    if (std::holds_alternative<ParseError>(root)) return root;
    const Token& t = lex_.peek();
    if (t.kind == Tok::kEnd) return lex_error().value_or(std::move(root));
    if (t.kind == Tok::kRParen) return ParseError{t.offset, "unmatched `)`"};
    return ParseError{t.offset, "unexpected " + describe(t) + " after a complete expression; join expressions with `&&` or `||`"};
  }

 private:
  std::optional<Result> lex_error() const {
    if (auto& e = lex_.error()) return Result{*e};
    return std::nullopt;
  }

  ParseError expected(const std::string& what) {
    const Token& t = lex_.peek();
    if (auto& e = lex_.error()) return *e;
    return ParseError{t.offset, "expected " + what + ", found " + describe(t)};
  }

  // Joins operands of one operator into an n-ary node, so long chains stay flat.
  Result chain(Tok op, Kind kind, Result (Parser::*operand)()) {
    const std::size_t start = lex_.peek().offset;
    Result first = (this->*operand)();
    if (std::holds_alternative<ParseError>(first) || lex_.peek().kind != op) return first;
    Node node;
    node.kind = kind;
    node.children.push_back(std::move(std::get<Node>(first)));
    while (lex_.peek().kind == op) {
      lex_.take();
      Result next = (this->*operand)();
      if (auto* e = std::get_if<ParseError>(&next)) return *e;
      node.children.push_back(std::move(std::get<Node>(next)));
    }
    node.text = std::string(text_.substr(start, end_ - start));
    return node;
  }

  Result disjunction() { return chain(Tok::kOr, Kind::kOr, &Parser::conjunction); }
  Result conjunction() { return chain(Tok::kAnd, Kind::kAnd, &Parser::unary); }

  Result unary() {
    const Token& t = lex_.peek();
    if (t.kind != Tok::kNot) return primary();
    const std::size_t start = t.offset;
    if (++depth_ > kMaxDepth) return too_deep(start);
    lex_.take();
    Result operand = unary();
    --depth_;
    if (std::holds_alternative<ParseError>(operand)) return operand;
    Node node;
    node.kind = Kind::kNot;
    node.children.push_back(std::move(std::get<Node>(operand)));
    node.text = std::string(text_.substr(start, end_ - start));
    return node;
  }

  Result primary() {
    const Token& t = lex_.peek();
    if (t.kind == Tok::kLParen) {
      const std::size_t open = t.offset;
      if (++depth_ > kMaxDepth) return too_deep(open);
      lex_.take();
      if (lex_.peek().kind == Tok::kRParen) return ParseError{lex_.peek().offset, "empty parentheses"};
      Result inner = disjunction();
      --depth_;
      if (std::holds_alternative<ParseError>(inner)) return inner;
      if (lex_.peek().kind != Tok::kRParen) {
        if (lex_.peek().kind == Tok::kEnd && !lex_.error()) return ParseError{open, "unclosed `(`"};
        return expected("`)` or an operator");
      }
      end_ = lex_.take().end;
      // Parentheses only group; a compound keeps them in its text so that
      // "!(A || B)" explains itself as "(A || B) matches".
      if (Node& n = std::get<Node>(inner); n.kind == Kind::kAnd || n.kind == Kind::kOr) {
        n.text = std::string(text_.substr(open, end_ - open));
      }
      return inner;
    }
    if (t.kind == Tok::kIdent) return matcher();
    if (t.kind == Tok::kString) {
      return ParseError{t.offset, "a string must be the argument of a matcher, e.g. HostSNI(`example.com`)"};
    }
    return expected("a matcher such as HostSNI(`example.com`), `!` or `(`");
  }

  Result matcher() {
    Token name = lex_.take();
    if (auto e = check_matcher_name(name.value, name.offset)) return *e;
    if (lex_.peek().kind != Tok::kLParen) return expected("`(` after " + name.value);
    lex_.take();
    std::vector<Arg> args;
    if (auto missing = take_args(lex_, args)) return expected(*missing);
    if (lex_.peek().kind != Tok::kRParen) {
      if (args.empty() && lex_.peek().kind == Tok::kIdent) {
        return ParseError{lex_.peek().offset, "arguments are quoted strings, e.g. " + name.value + "(`" + lex_.peek().value + "`)"};
      }
      return expected(args.empty() ? "a quoted argument" : "`,` or `)`");
    }
    const Token close = lex_.take();
    end_ = close.end;
    return make_matcher(name.value, close.offset, std::move(args),
                        std::string(text_.substr(name.offset, close.end - name.offset)));
  }

  static ParseError too_deep(std::size_t offset) {
    return ParseError{offset, "the rule nests `(` and `!` deeper than " + std::to_string(kMaxDepth) + " levels"};
  }

  std::string_view text_;
  Lexer lex_;
  std::size_t depth_ = 0;
  std::size_t end_ = 0;  // one past the last byte consumed, for node texts
};

bool all_space(std::string_view text) {
  return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

}  // namespace

std::variant<Rule, ParseError> parse(std::string_view text) {
  if (text.size() > kMaxLength) {
    return ParseError{kMaxLength, "the rule is longer than " + std::to_string(kMaxLength) + " bytes"};
  }
  if (all_space(text)) return ParseError{0, "empty rule; to match every client write HostSNI(`*`)"};
  Result root = Parser(text).rule();
  if (auto* e = std::get_if<ParseError>(&root)) return *e;
  return Rule{std::make_shared<const Node>(std::move(std::get<Node>(root))), std::string(text)};
}

}  // namespace snigate::rule
