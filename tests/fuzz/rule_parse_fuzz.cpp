// Parses arbitrary bytes as a rule; whatever parses is matched and explained
// against a few fixed clients, so the whole of src/rule runs on hostile input.
// A client the rule matches must also meet the name condition sni_keys gives
// the route index (else the index would lose the route).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rule/rule.hpp"
#include "rule/sni_keys.hpp"
#include "rule/sni_regexp.hpp"

namespace {

using snigate::Facts;
using snigate::IpAddress;

const std::string kAlpn[] = {"h2", "http/1.1", "acme-tls/1"};

Facts make(bool tls, std::string_view sni, std::size_t alpn_count, std::string_view ip) {
  Facts f;
  f.tls = tls;
  f.sni = sni;
  f.alpn = std::span<const std::string>(kAlpn, alpn_count);
  if (!ip.empty()) f.client_ip = IpAddress::parse(ip);
  return f;
}

bool contains(const std::vector<std::string_view>& v, std::string_view s) {
  for (std::string_view x : v)
    if (x == s) return true;
  return false;
}

// What the route index asks of a client before it tries the rule.
bool meets(const snigate::rule::SniKeys& keys, const Facts& f) {
  std::string buffer;
  const std::string_view key = snigate::rule::sni_lookup_key(f.sni, buffer);
  if (!key.empty() && contains(keys.exact, key)) return true;
  const std::string_view suffix = snigate::rule::wildcard_suffix_of(key);
  if (!suffix.empty() && contains(keys.suffixes, suffix)) return true;
  for (const snigate::rule::SniRegexp* regex : keys.regexps)
    if (!f.sni.empty() && snigate::rule::sni_regexp_matches(*regex, f.sni)) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Facts kClients[] = {
      make(true, "a.example.com", 2, "10.1.2.3"),
      make(true, "x.tenant.example.com", 1, "2001:db8::7"),
      make(true, std::string_view("we\"ird\n\xff.example", 16), 3, "::ffff:192.0.2.1"),
      make(true, "", 0, "::1"),
      make(false, "", 0, "192.0.2.200"),
      make(false, "", 0, ""),
  };
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = snigate::rule::parse(text);
  if (auto* e = std::get_if<snigate::rule::ParseError>(&parsed)) {
    if (e->offset > size || e->message.empty()) __builtin_trap();
    return 0;
  }
  const auto& rule = std::get<snigate::rule::Rule>(parsed);
  const bool catch_all = snigate::rule::is_catch_all(rule);
  const bool sni = snigate::rule::needs_sni(rule);
  if (catch_all && sni) __builtin_trap();
  const auto keys = snigate::rule::sni_keys(rule);
  for (const Facts& f : kClients) {
    const bool m = snigate::rule::match(rule, f);
    const std::string why = snigate::rule::explain_mismatch(rule, f);
    if (m != why.empty()) __builtin_trap();
    if (why.find('\n') != std::string::npos) __builtin_trap();
    if (catch_all && !m) __builtin_trap();
    if (m && keys && !meets(*keys, f)) __builtin_trap();
  }
  return 0;
}
