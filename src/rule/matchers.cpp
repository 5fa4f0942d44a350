#include "rule/matchers.hpp"

#include <array>

#include "rule/host_name.hpp"
#include "rule/lexer.hpp"
#include "rule/ip_range.hpp"
#include "rule/sni_regexp.hpp"

namespace snigate::rule {
namespace {

constexpr std::array<std::string_view, 4> kMatchers{"HostSNI", "HostSNIRegexp", "ClientIP", "ALPN"};
constexpr std::string_view kMatcherList = "HostSNI, HostSNIRegexp, ClientIP, ALPN";

// Traefik's HTTP router matchers: people copy rules between router kinds.
constexpr std::array<std::string_view, 15> kHttpMatchers{
    "Host",   "HostRegexp", "HostHeader", "Path",        "PathPrefix", "PathRegexp",   "Method", "Methods",
    "Header", "Headers",    "HeaderRegexp", "HeadersRegexp", "Query",  "QueryRegexp", "ClientIPs"};

bool equal_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lo = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lo(a[i]) != lo(b[i])) return false;
  }
  return true;
}

std::variant<Node, ParseError> host_sni(std::vector<Arg> args, Node node) {
  for (auto& arg : args) {
    if (auto why = normalize_host_pattern(arg.value)) return ParseError{arg.offset, *why};
    // `*` among other names already matches everyone; keeping it alone lets
    // is_catch_all and needs_sni see that.
    if (arg.value == "*") {
      node.args = {"*"};
      return node;
    }
    node.args.push_back(std::move(arg.value));
  }
  return node;
}

std::variant<Node, ParseError> host_sni_regexp(std::vector<Arg> args, Node node) {
  if (args.size() != 1) {
    return ParseError{args[1].offset, "HostSNIRegexp takes one regex; combine patterns with `|` inside it"};
  }
  if (args[0].value.empty()) return ParseError{args[0].offset, "HostSNIRegexp needs a non-empty regex"};
  auto compiled = compile_sni_regexp(args[0].value);
  if (auto* why = std::get_if<std::string>(&compiled)) {
    return ParseError{args[0].offset, "invalid regex `" + args[0].value + "`: " + *why};
  }
  node.regex = std::move(std::get<std::shared_ptr<const SniRegexp>>(compiled));
  node.args.push_back(std::move(args[0].value));
  return node;
}

std::variant<Node, ParseError> client_ip(const std::vector<Arg>& args, Node node) {
  for (const auto& arg : args) {
    auto range = parse_ip_range(arg.value);
    if (auto* why = std::get_if<std::string>(&range)) return ParseError{arg.offset, *why};
    node.ranges.push_back(std::get<IpRange>(range));
  }
  return node;
}

std::variant<Node, ParseError> alpn(std::vector<Arg> args, Node node) {
  for (auto& arg : args) {
    if (arg.value.empty()) return ParseError{arg.offset, "ALPN needs a protocol name, e.g. ALPN(`h2`)"};
    if (arg.value.size() > 255) return ParseError{arg.offset, "an ALPN protocol name is at most 255 bytes"};
    // The TLS-ALPN-01 challenge belongs to the ACME client; routing it away
    // would break certificate issuance, so Traefik refuses it and so do we.
    if (arg.value == "acme-tls/1") return ParseError{arg.offset, "ALPN(`acme-tls/1`) is reserved for ACME challenges"};
    node.args.push_back(std::move(arg.value));
  }
  return node;
}

// Traefik registers each matcher under four spellings: as written, all lower
// case, ALL UPPER CASE and Title case (first letter upper, the rest lower):
// HostSNI, hostsni, HOSTSNI, Hostsni. Other mixtures are not the matcher.
bool traefik_spelling(std::string_view canonical, std::string_view name) {
  if (name == canonical) return true;
  if (!equal_nocase(canonical, name)) return false;
  auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  bool lower = true, upper = true, title = !name.empty() && !is_lower(name[0]);
  for (std::size_t i = 0; i < name.size(); ++i) {
    lower = lower && !is_upper(name[i]);
    upper = upper && !is_lower(name[i]);
    title = title && (i == 0 || !is_upper(name[i]));
  }
  return lower || upper || title;
}

}  // namespace

std::optional<std::string_view> canonical_matcher(std::string_view name) {
  for (auto m : kMatchers)
    if (traefik_spelling(m, name)) return m;
  return std::nullopt;
}

std::optional<ParseError> check_matcher_name(std::string_view name, std::size_t offset) {
  if (canonical_matcher(name)) return std::nullopt;
  const std::string quoted = "`" + std::string(name) + "`";
  for (auto m : kMatchers) {
    if (equal_nocase(m, name)) {
      return ParseError{offset, "unknown matcher " + quoted + "; a matcher is written as `" + std::string(m) +
                                    "`, or all in lower case, all in upper case, or with only its first letter "
                                    "upper case: did you mean `" + std::string(m) + "`?"};
    }
  }
  if (equal_nocase(name, "and") || equal_nocase(name, "or") || equal_nocase(name, "not")) {
    return ParseError{offset, "unknown matcher " + quoted + "; the operators are `&&`, `||` and `!`"};
  }
  for (auto m : kHttpMatchers) {
    if (equal_nocase(m, name)) {
      return ParseError{offset, quoted + " is an HTTP matcher; TCP routers use HostSNI, HostSNIRegexp, ClientIP and ALPN" +
                                    (name.starts_with("Host") || name.starts_with("host")
                                         ? std::string(" (the TLS server name is matched with HostSNI)")
                                         : std::string())};
    }
  }
  return ParseError{offset, "unknown matcher " + quoted + "; TCP matchers are " + std::string(kMatcherList)};
}

std::variant<Node, ParseError> make_matcher(std::string_view spelled, std::size_t offset, std::vector<Arg> args,
                                            std::string text) {
  const std::string_view name = canonical_matcher(spelled).value_or(spelled);
  if (args.empty()) {
    const char* example = name == "HostSNI"         ? "HostSNI(`example.com`)"
                          : name == "HostSNIRegexp" ? "HostSNIRegexp(`^.+\\.example\\.com$`)"
                          : name == "ClientIP"      ? "ClientIP(`10.0.0.0/8`)"
                                                    : "ALPN(`h2`)";
    return ParseError{offset, std::string(name) + " needs an argument, e.g. " + example};
  }
  Node node;
  node.text = std::move(text);
  if (name == "HostSNI") {
    node.kind = Kind::kHostSni;
    return host_sni(std::move(args), std::move(node));
  }
  if (name == "HostSNIRegexp") {
    node.kind = Kind::kHostSniRegexp;
    return host_sni_regexp(std::move(args), std::move(node));
  }
  if (name == "ClientIP") {
    node.kind = Kind::kClientIp;
    return client_ip(args, std::move(node));
  }
  node.kind = Kind::kAlpn;
  return alpn(std::move(args), std::move(node));
}

std::optional<std::string> take_args(Lexer& lex, std::vector<Arg>& args) {
  while (lex.peek().kind == Tok::kString) {
    Token s = lex.take();
    args.push_back(Arg{std::move(s.value), s.offset});
    if (lex.peek().kind != Tok::kComma) break;
    lex.take();
    if (lex.peek().kind != Tok::kString) return "another argument after `,`";
  }
  return std::nullopt;
}

}  // namespace snigate::rule
