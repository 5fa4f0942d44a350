// HostSNIRegexp reads RE2 syntax, as Traefik (Go's regexp) does. Most cases
// below are ones ECMAScript (std::regex) refuses or reads differently.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "rule/rule.hpp"

namespace snigate::rule {
namespace {

bool matches(const std::string& pattern, std::string_view sni) {
  auto parsed = parse("HostSNIRegexp(`" + pattern + "`)");
  if (auto* e = std::get_if<ParseError>(&parsed)) {
    ADD_FAILURE() << pattern << ": " << e->message;
    return false;
  }
  Facts facts;
  facts.tls = true;
  facts.sni = sni;
  return match(std::get<Rule>(parsed), facts);
}

// The message of the error for this rule, or "" (and a failure) if it parsed.
std::string error(std::string_view rule) {
  auto parsed = parse(rule);
  if (auto* e = std::get_if<ParseError>(&parsed)) return e->message;
  ADD_FAILURE() << rule << " parsed";
  return {};
}

TEST(RuleRegexp, InlineFlags) {
  EXPECT_TRUE(matches(R"((?i)^API\.Example\.com$)", "api.example.com"));
  EXPECT_FALSE(matches(R"(^API\.Example\.com$)", "api.example.com"));
  // A flag can cover part of the pattern only.
  EXPECT_TRUE(matches(R"(^(?i:DB)-[0-9]+$)", "db-7"));
  EXPECT_FALSE(matches(R"(^(?i:DB)-X$)", "db-x"));
}

TEST(RuleRegexp, UnicodeClasses) {
  EXPECT_TRUE(matches(R"(^\pL+\.test$)", "abc.test"));
  EXPECT_FALSE(matches(R"(^\pL+\.test$)", "a1.test"));
  // A client may send UTF-8 in its SNI; \p{Greek} reads it as characters.
  EXPECT_TRUE(matches(R"(^\p{Greek}+\.test$)", "\xce\xb1\xce\xb2.test"));  // "αβ.test"
  EXPECT_FALSE(matches(R"(^\p{Greek}+\.test$)", "ab.test"));
}

TEST(RuleRegexp, EndOfTextAnchor) {
  // ECMAScript reads \z as the letter z.
  EXPECT_TRUE(matches(R"(\.example\.com\z)", "a.example.com"));
  EXPECT_FALSE(matches(R"(\.example\.com\z)", "a.example.comz"));
  EXPECT_FALSE(matches(R"(\.example\.com\z)", "a.example.com.evil"));
}

TEST(RuleRegexp, NamedGroupsAndQuotedText) {
  EXPECT_TRUE(matches(R"(^(?P<tenant>[a-z]+)\.tenant\.test$)", "acme.tenant.test"));
  EXPECT_FALSE(matches(R"(^(?P<tenant>[a-z]+)\.tenant\.test$)", "ac-me.tenant.test"));
  // \Q...\E: everything between is literal, dots included.
  EXPECT_TRUE(matches(R"(^\Qa.b\E$)", "a.b"));
  EXPECT_FALSE(matches(R"(^\Qa.b\E$)", "axb"));
}

TEST(RuleRegexp, SearchesUnlessAnchored) {
  EXPECT_TRUE(matches("tenant", "a.tenant.test"));
  EXPECT_FALSE(matches("^tenant", "a.tenant.test"));
  EXPECT_FALSE(matches(R"(^a\.test$)", "xa.test"));
}

TEST(RuleRegexp, BacktrackingSyntaxIsRefusedWithRe2sMessage) {
  EXPECT_EQ(error(R"(HostSNIRegexp(`(a)\1`))"), R"(invalid regex `(a)\1`: invalid escape sequence: \1)");
  EXPECT_EQ(error("HostSNIRegexp(`a(?=x)`)"), "invalid regex `a(?=x)`: invalid perl operator: (?=");
  EXPECT_EQ(error("HostSNIRegexp(`(?<!x)a`)"), "invalid regex `(?<!x)a`: invalid perl operator: (?<");
}

TEST(RuleRegexp, NonAsciiPatternIsRefused) {
  const std::string want = "non-ASCII characters are not allowed";
  EXPECT_NE(error("HostSNIRegexp(`^caf\xc3\xa9\\.test$`)").find(want), std::string::npos);
  EXPECT_NE(error("HostSNIRegexp(\"^caf\xc3\xa9$\")").find(want), std::string::npos);
  // Not even a stray byte that is not UTF-8, inside a class.
  EXPECT_NE(error("HostSNI(`a`) || HostSNIRegexp(`[\xff]`)").find(want), std::string::npos);
}

TEST(RuleRegexp, PathologicalPatternsMatchInLinearTime) {
  // Exponential for a backtracking matcher: 2^5000 ways to split the a's.
  const std::string long_name = std::string(5000, 'a') + "!";
  EXPECT_FALSE(matches("^(a+)+$", long_name));
  EXPECT_FALSE(matches("^(a|aa)*$", long_name));
  EXPECT_FALSE(matches("(x+x+)+y", std::string(5000, 'x')));
  EXPECT_TRUE(matches("^(a+)+!$", long_name));
}

}  // namespace
}  // namespace snigate::rule
