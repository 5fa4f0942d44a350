// Rewrites a v2 rule matcher by matcher: the v2 grammar is v3's (Traefik uses
// one parser for both); only the matchers differ. Several arguments become
// several v3 matchers joined by `||`, and HostSNIRegexp templates become
// anchored regexes. Text between matchers is copied, so the rule keeps its shape.
#include <algorithm>
#include <optional>
#include <vector>

#include "rule/lexer.hpp"
#include "rule/matchers.hpp"
#include "rule/v2_syntax.hpp"

namespace snigate::rule {
namespace {

constexpr std::size_t kMaxLength = 64 * 1024;  // as for v3 rules

// An argument in v3 text: raw (backquoted) unless it holds a backquote.
std::string quoted(std::string_view value) {
  if (value.find('`') == std::string_view::npos) return "`" + std::string(value) + "`";
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: out.push_back(c);
    }
  }
  return out + "\"";
}

std::string call(std::string_view matcher, std::string_view arg) { return std::string(matcher) + "(" + quoted(arg) + ")"; }

// One v2 matcher call as the v3 matchers it stands for (any of them matches).
std::variant<std::vector<std::string>, ParseError> v3_terms(std::string_view matcher, const std::vector<Arg>& args) {
  std::vector<std::string> terms;
  for (const Arg& a : args) {
    if (matcher == "HostSNI" && a.value == "*" && !terms.empty()) {
      // First, v2's `*` matched every client; later, every client that sent
      // a name, and a regex never matches a client without SNI. The
      // alternatives stay even after a first `*`: like Traefik, snigate gives
      // only a lone HostSNI(`*`) the catch-all's priority.
      terms.push_back(call("HostSNIRegexp", "^.+$"));
    } else if (matcher == "HostSNIRegexp") {
      auto re = v2_template_regex(a.value, a.offset + 1);
      if (auto* e = std::get_if<ParseError>(&re)) return *e;
      terms.push_back(call(matcher, std::get<std::string>(re)));
    } else {
      terms.push_back(call(matcher, a.value));
    }
  }
  return terms;
}

// Where a stretch of the v3 text came from, to report v3 errors in v2 offsets.
struct Segment {
  std::size_t v3_begin = 0;
  std::size_t v2_begin = 0;
  bool copied = false;  // else a rewritten matcher: errors point at its name
};

class Rewriter {
 public:
  explicit Rewriter(std::string_view v2) : v2_(v2), lex_(v2) {}

  std::variant<std::string, ParseError> run() {
    for (bool first = true; lex_.peek().kind != Tok::kEnd; first = false) {
      if (lex_.peek().kind != Tok::kIdent) {
        lex_.take();
        continue;
      }
      if (auto e = matcher(first)) return *e;
    }
    if (auto& e = lex_.error()) return *e;
    copy_until(v2_.size());
    auto parsed = parse(out_);
    if (auto* e = std::get_if<ParseError>(&parsed)) {
      return ParseError{v2_offset(e->offset), e->message + " (in the rule's v3 spelling `" + out_ + "`)"};
    }
    return std::move(out_);
  }

 private:
  std::optional<ParseError> expected(const std::string& what) {
    if (auto& e = lex_.error()) return *e;
    return ParseError{lex_.peek().offset, "expected " + what + ", found " + describe(lex_.peek())};
  }

  std::optional<ParseError> matcher(bool first) {
    const Token name = lex_.take();
    if (auto e = check_matcher_name(name.value, name.offset)) return e;
    const std::string_view canonical = *canonical_matcher(name.value);
    if (lex_.peek().kind != Tok::kLParen) return expected("`(` after " + name.value);
    lex_.take();
    std::vector<Arg> args;
    if (auto missing = take_args(lex_, args)) return expected(*missing);
    if (lex_.peek().kind != Tok::kRParen) return expected(args.empty() ? "a quoted argument" : "`,` or `)`");
    const Token close = lex_.take();
    if (args.empty()) return ParseError{close.offset, std::string(canonical) + " needs at least one quoted argument"};
    auto terms = v3_terms(canonical, args);
    if (auto* e = std::get_if<ParseError>(&terms)) return *e;
    std::string text;
    for (const std::string& t : std::get<std::vector<std::string>>(terms)) text += (text.empty() ? "" : " || ") + t;
    // Alone, the alternatives need no parentheses; beside `&&` or `!` they do.
    const bool whole_rule = first && lex_.peek().kind == Tok::kEnd && !lex_.error();
    if (std::get<std::vector<std::string>>(terms).size() > 1 && !whole_rule) text = "(" + text + ")";
    copy_until(name.offset);
    segments_.push_back({out_.size(), name.offset, false});
    out_ += text;
    copied_to_ = close.end;
    return std::nullopt;
  }

  void copy_until(std::size_t pos) {
    if (pos <= copied_to_) return;
    segments_.push_back({out_.size(), copied_to_, true});
    out_.append(v2_.substr(copied_to_, pos - copied_to_));
    copied_to_ = pos;
  }

  std::size_t v2_offset(std::size_t v3) const {
    const Segment* in = nullptr;
    for (const Segment& s : segments_)
      if (s.v3_begin <= v3) in = &s;
    if (in == nullptr) return 0;
    return in->copied ? std::min(v2_.size(), in->v2_begin + (v3 - in->v3_begin)) : in->v2_begin;
  }

  std::string_view v2_;
  Lexer lex_;
  std::string out_;
  std::vector<Segment> segments_;
  std::size_t copied_to_ = 0;
};

}  // namespace

std::variant<std::string, ParseError> v2_to_v3(std::string_view v2) {
  if (v2.size() > kMaxLength) {
    return ParseError{kMaxLength, "the rule is longer than " + std::to_string(kMaxLength) + " bytes"};
  }
  return Rewriter(v2).run();
}

}  // namespace snigate::rule
