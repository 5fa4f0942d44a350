#include "rule/sni_keys.hpp"

#include <algorithm>

#include "rule/ast.hpp"

namespace snigate::rule {
namespace {

std::optional<SniKeys> host_sni_keys(const Node& node) {
  SniKeys keys;
  for (const std::string& name : node.args) {
    if (name == "*") return std::nullopt;
    if (name.starts_with("*.")) keys.suffixes.emplace_back(std::string_view(name).substr(2));
    else keys.exact.emplace_back(name);
  }
  return keys;
}

// 0 exact names only, 1 with wildcards, 2 with regexps: a wildcard hit is
// shared by every name under its suffix, and each regexp is one more pattern
// in the entry point's RE2::Set, which hash lookups do not need.
int kind_rank(const SniKeys& k) { return !k.regexps.empty() ? 2 : !k.suffixes.empty() ? 1 : 0; }

// Fewer names and patterns to index is better, exact names best.
bool more_selective(const SniKeys& a, const SniKeys& b) {
  if (kind_rank(a) != kind_rank(b)) return kind_rank(a) < kind_rank(b);
  return a.exact.size() + a.suffixes.size() + a.regexps.size() < b.exact.size() + b.suffixes.size() + b.regexps.size();
}

std::optional<SniKeys> node_keys(const Node& node) {
  switch (node.kind) {
    case Kind::kHostSni: return host_sni_keys(node);
    case Kind::kAnd: {
      std::optional<SniKeys> best;
      for (const Node& c : node.children) {
        auto keys = node_keys(c);
        if (keys && (!best || more_selective(*keys, *best))) best = std::move(keys);
      }
      return best;
    }
    case Kind::kOr: {
      SniKeys all;
      for (const Node& c : node.children) {
        auto keys = node_keys(c);
        if (!keys) return std::nullopt;
        all.exact.insert(all.exact.end(), keys->exact.begin(), keys->exact.end());
        all.suffixes.insert(all.suffixes.end(), keys->suffixes.begin(), keys->suffixes.end());
        all.regexps.insert(all.regexps.end(), keys->regexps.begin(), keys->regexps.end());
      }
      return all;
    }
    case Kind::kHostSniRegexp: return SniKeys{{}, {}, {node.regex.get()}};
    case Kind::kNot:  // `!HostSNI(a)` matches every other name
    case Kind::kClientIp:
    case Kind::kAlpn: break;
  }
  return std::nullopt;
}

bool has_capital(std::string_view s) {
  return std::ranges::any_of(s, [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

std::optional<SniKeys> sni_keys(const Rule& rule) {
  if (!rule.root) return std::nullopt;
  return node_keys(*rule.root);
}

std::string_view sni_lookup_key(std::string_view sni, std::string& buffer) {
  if (sni.size() > 1 && sni.back() == '.') sni.remove_suffix(1);
  if (!has_capital(sni)) return sni;
  buffer.assign(sni);
  for (char& c : buffer)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return buffer;
}

std::string_view wildcard_suffix_of(std::string_view key) {
  const std::size_t dot = key.find('.');
  if (dot == 0 || dot == std::string_view::npos) return {};
  return key.substr(dot + 1);
}

}  // namespace snigate::rule
