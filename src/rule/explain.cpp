// One-line reasons for a mismatch, for logs, the `explain` command and the
// error a client receives. Values the client sent are escaped so that a
// hostile SNI cannot break the line.
#include "rule/ast.hpp"
#include "rule/node_match.hpp"

namespace snigate::rule {
namespace {

std::string quote(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : value) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20 || b >= 0x7f) {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string no_sni(const Node& node, const Facts& facts) {
  return node.text + " needs a server name; the client sent no SNI" + (facts.tls ? "" : " (it did not start TLS)");
}

std::string explain(const Node& node, const Facts& facts) {
  switch (node.kind) {
    case Kind::kOr: {
      std::string out = "none of: ";
      for (std::size_t i = 0; i < node.children.size(); ++i) {
        if (i > 0) out += "; ";
        out += explain(node.children[i], facts);
      }
      return out;
    }
    case Kind::kAnd:
      for (const Node& c : node.children) {
        if (!matches(c, facts)) return explain(c, facts);
      }
      return {};
    case Kind::kNot:
      return node.children.front().text + " matches";
    case Kind::kHostSni:
    case Kind::kHostSniRegexp:
      if (facts.sni.empty()) return no_sni(node, facts);
      return node.text + " does not match SNI " + quote(facts.sni);
    case Kind::kClientIp:
      if (!facts.client_ip) return node.text + " needs the client address; it is not known";
      return node.text + " does not match client address " + facts.client_ip->to_string();
    case Kind::kAlpn: {
      if (facts.alpn.empty()) return node.text + " does not match: the client offered no ALPN protocols";
      std::string out = node.text + " does not match the client's ALPN offer [";
      for (std::size_t i = 0; i < facts.alpn.size(); ++i) {
        if (i > 0) out += ", ";
        out += quote(facts.alpn[i]);
      }
      return out + "]";
    }
  }
  return {};
}

}  // namespace

std::string explain_mismatch(const Rule& rule, const Facts& facts) {
  if (!rule.root) return "the rule is empty";
  if (matches(*rule.root, facts)) return {};
  std::string line = explain(*rule.root, facts);
  // Rule text may span lines in YAML, and an ALPN argument may hold any byte.
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return line;
}

}  // namespace snigate::rule
