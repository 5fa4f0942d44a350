#pragma once
// Traefik's TCP rule language: HostSNI, HostSNIRegexp, ClientIP, ALPN, combined
// with &&, ||, ! and parentheses. parse() compiles once; match() is pure.
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rule/facts.hpp"

namespace snigate::rule {

struct Node;  // the compiled expression tree (rule/ast.hpp)

struct Rule {
  std::shared_ptr<const Node> root;
  std::string text;  // as written
};

struct ParseError {
  std::size_t offset = 0;  // byte offset in the rule text
  std::string message;     // e.g. "unknown matcher `Host`; TCP rules use HostSNI, ..."
};

std::variant<Rule, ParseError> parse(std::string_view text);

bool match(const Rule& rule, const Facts& facts);

// Why the rule does not match these facts, in one line naming the matcher that
// failed and the value it saw, e.g. "HostSNI(`a.example.com`) does not match SNI
// \"b.example.com\"". Empty when the rule matches.
std::string explain_mismatch(const Rule& rule, const Facts& facts);

// True when the rule is exactly HostSNI(`*`) (possibly in parentheses): it
// matches every client, so an entry point whose routers are all catch-alls need
// not wait for the client to speak first.
bool is_catch_all(const Rule& rule);

// True when any HostSNI/HostSNIRegexp matcher other than HostSNI(`*`) appears:
// the route needs a server name from the client.
bool needs_sni(const Rule& rule);

// False when no plain (non-TLS) client can ever match: such a client sends no
// name and no ALPN, so a rule that needs one of them, whatever its client IP
// test, is a mistake on a router without tls.
bool can_match_plain(const Rule& rule);

// HostSNIRegexp patterns that need an ASCII capital letter to match: the SNI is
// compared in lower case (as in Traefik), so they never do. Worth a warning.
std::vector<std::string> patterns_with_capitals(const Rule& rule);

}  // namespace snigate::rule
