// Questions the gateway asks about a rule before any client arrives.
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

}  // namespace

bool is_catch_all(const Rule& rule) {
  // Parentheses leave no node, so "(HostSNI(`*`))" is the bare leaf here.
  const Node* n = rule.root.get();
  return n != nullptr && n->kind == Kind::kHostSni && n->args.size() == 1 && n->args.front() == "*";
}

bool needs_sni(const Rule& rule) { return rule.root && mentions_sni(*rule.root); }

}  // namespace snigate::rule
