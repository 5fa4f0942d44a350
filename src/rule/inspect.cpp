// Questions the gateway asks about a rule before any client arrives.
#include <algorithm>

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

}  // namespace

bool can_match_plain(const Rule& rule) { return rule.root && plain_match(*rule.root) != Maybe::no; }

bool is_catch_all(const Rule& rule) {
  // Parentheses leave no node, so "(HostSNI(`*`))" is the bare leaf here.
  const Node* n = rule.root.get();
  return n != nullptr && n->kind == Kind::kHostSni && n->args.size() == 1 && n->args.front() == "*";
}

bool needs_sni(const Rule& rule) { return rule.root && mentions_sni(*rule.root); }

}  // namespace snigate::rule
