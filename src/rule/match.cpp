// The per-connection hot path: no allocation (RE2 matches in its own cache).
#include "rule/ast.hpp"
#include "rule/host_name.hpp"
#include "rule/ip_range.hpp"
#include "rule/node_match.hpp"

namespace snigate::rule {

bool matches(const Node& node, const Facts& facts) {
  switch (node.kind) {
    case Kind::kOr:
      for (const Node& c : node.children) {
        if (matches(c, facts)) return true;
      }
      return false;
    case Kind::kAnd:
      for (const Node& c : node.children) {
        if (!matches(c, facts)) return false;
      }
      return true;
    case Kind::kNot:
      return !matches(node.children.front(), facts);
    case Kind::kHostSni:
      for (const std::string& name : node.args) {
        if (host_matches(name, facts.sni)) return true;
      }
      return false;
    case Kind::kHostSniRegexp:
      // Unlike Traefik, a regex never matches a client that sent no name:
      // HostSNI(`*`) is the one spelling of "any client", and needs_sni()
      // can then promise that a regex route needs SNI.
      return !facts.sni.empty() && sni_regexp_matches(*node.regex, facts.sni);
    case Kind::kClientIp:
      if (!facts.client_ip) return false;
      for (const IpRange& r : node.ranges) {
        if (contains(r, *facts.client_ip)) return true;
      }
      return false;
    case Kind::kAlpn:
      for (const std::string& offered : facts.alpn) {
        for (const std::string& wanted : node.args) {
          if (offered == wanted) return true;
        }
      }
      return false;
  }
  return false;
}

bool match(const Rule& rule, const Facts& facts) { return rule.root && matches(*rule.root, facts); }

}  // namespace snigate::rule
