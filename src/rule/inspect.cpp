// Questions the gateway asks about a rule before any client arrives.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "rule/ast.hpp"

namespace snigate::rule {
namespace {

bool mentions_sni(const Node& node) {
  switch (node.kind) {
    case Kind::kHostSni: return !(node.args.size() == 1 && node.args.front() == "*");
    case Kind::kHostSniRegexp: return true;
    default: break;
  }
  for (const Node& c : node.children) {
    if (mentions_sni(c)) return true;
  }
  return false;
}

// Three-valued: a plain client has no name and no ALPN, but any address.
enum class Maybe { no, maybe, yes };

Maybe plain_match(const Node& node) {
  switch (node.kind) {
    case Kind::kHostSni:
      return std::ranges::find(node.args, std::string("*")) != node.args.end() ? Maybe::yes : Maybe::no;
    case Kind::kHostSniRegexp:  // never matches a client that sent no name
    case Kind::kAlpn: return Maybe::no;
    case Kind::kClientIp: return Maybe::maybe;
    case Kind::kNot: {
      const Maybe m = plain_match(node.children.front());
      return m == Maybe::maybe ? m : m == Maybe::yes ? Maybe::no : Maybe::yes;
    }
    case Kind::kAnd:
    case Kind::kOr: break;
  }
  const bool is_and = node.kind == Kind::kAnd;
  Maybe acc = is_and ? Maybe::yes : Maybe::no;
  for (const Node& c : node.children) {
    const Maybe m = plain_match(c);
    if (m == (is_and ? Maybe::no : Maybe::yes)) return m;
    if (m == Maybe::maybe) acc = m;
  }
  return acc;
}

// An ASCII capital that the pattern must match literally: not in a class, an
// escape (\D, \p{Greek}) or a repeat count, and no (?i) flag anywhere. A
// heuristic: an alternative may still match without it.
bool has_capital_literal(std::string_view p) {
  if (p.find("(?i") != std::string_view::npos) return false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[++i];
      if ((e == 'p' || e == 'P') && i + 1 < p.size() && p[i + 1] == '{') i = std::min(p.find('}', i), p.size());
      if (e == 'Q') {
        const std::size_t end = std::min(p.find("\\E", i), p.size());
        for (std::size_t j = i + 1; j < end; ++j)
          if (p[j] >= 'A' && p[j] <= 'Z') return true;
        i = end + 1;
      }
    } else if (c == '[') {
      i = std::min(p.find(']', i + 2), p.size());  // "[]" and "[^]" start with a literal ']'
    } else if (c == '(' && i + 1 < p.size() && p[i + 1] == '?') {
      i = std::min(p.find_first_of(":)", i), p.size());  // flags and group names
    } else if (c >= 'A' && c <= 'Z') {
      return true;
    }
  }
  return false;
}

void capital_patterns(const Node& node, std::vector<std::string>& out) {
  if (node.kind == Kind::kHostSniRegexp && !node.args.empty() && has_capital_literal(node.args.front()))
    out.push_back(node.args.front());
  for (const Node& c : node.children) capital_patterns(c, out);
}

}  // namespace

std::vector<std::string> patterns_with_capitals(const Rule& rule) {
  std::vector<std::string> out;
  if (rule.root) capital_patterns(*rule.root, out);
  return out;
}

bool can_match_plain(const Rule& rule) { return rule.root && plain_match(*rule.root) != Maybe::no; }

bool is_catch_all(const Rule& rule) {
  // Parentheses leave no node, so "(HostSNI(`*`))" is the bare leaf here.
  const Node* n = rule.root.get();
  return n != nullptr && n->kind == Kind::kHostSni && n->args.size() == 1 && n->args.front() == "*";
}

bool needs_sni(const Rule& rule) { return rule.root && mentions_sni(*rule.root); }

}  // namespace snigate::rule
