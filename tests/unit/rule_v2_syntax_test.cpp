// Traefik v2 rule syntax: the v3 text each v2 rule becomes, and that the
// rewritten rule matches the clients Traefik v2 matched.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "rule/rule.hpp"
#include "rule/v2_syntax.hpp"

namespace snigate::rule {
namespace {

std::string v3(std::string_view v2) {
  auto r = v2_to_v3(v2);
  if (auto* e = std::get_if<ParseError>(&r)) {
    ADD_FAILURE() << "`" << v2 << "` failed at " << e->offset << ": " << e->message;
    return {};
  }
  return std::get<std::string>(r);
}

void expect_error(std::string_view v2, std::size_t offset, std::string_view needle) {
  auto r = v2_to_v3(v2);
  auto* e = std::get_if<ParseError>(&r);
  ASSERT_NE(e, nullptr) << v2 << " became " << std::get<std::string>(r);
  EXPECT_EQ(e->offset, offset) << v2 << ": " << e->message;
  EXPECT_NE(e->message.find(needle), std::string::npos) << v2 << ": " << e->message;
}

// Whether the v2 rule, read through its v3 spelling, matches a TLS client
// sending `sni` (lower case, as the session passes it).
bool matches_sni(std::string_view v2, std::string_view sni) {
  auto parsed = parse(v3(v2));
  if (auto* e = std::get_if<ParseError>(&parsed)) {
    ADD_FAILURE() << v2 << ": " << e->message;
    return false;
  }
  Facts f;
  f.tls = true;
  f.sni = sni;
  return match(std::get<Rule>(parsed), f);
}

TEST(RuleV2Syntax, OneArgumentMatchersAreUnchanged) {
  EXPECT_EQ(v3("HostSNI(`a.example.com`)"), "HostSNI(`a.example.com`)");
  EXPECT_EQ(v3("ClientIP(`10.0.0.0/8`)"), "ClientIP(`10.0.0.0/8`)");
  EXPECT_EQ(v3("ALPN(`h2`)"), "ALPN(`h2`)");
  EXPECT_EQ(v3("HostSNI(`*`)"), "HostSNI(`*`)");
}

TEST(RuleV2Syntax, SeveralArgumentsBecomeAlternatives) {
  EXPECT_EQ(v3("HostSNI(`a.test`, `b.test`)"), "HostSNI(`a.test`) || HostSNI(`b.test`)");
  EXPECT_EQ(v3("ClientIP(`10.0.0.1`,`::1`)"), "ClientIP(`10.0.0.1`) || ClientIP(`::1`)");
  // Beside another operator the alternatives keep their grouping.
  EXPECT_EQ(v3("HostSNI(`a.test`, `b.test`) && ALPN(`h2`, `http/1.1`)"),
            "(HostSNI(`a.test`) || HostSNI(`b.test`)) && (ALPN(`h2`) || ALPN(`http/1.1`))");
  EXPECT_EQ(v3("!HostSNI(`a.test`, `b.test`)"), "!(HostSNI(`a.test`) || HostSNI(`b.test`))");
  EXPECT_TRUE(matches_sni("HostSNI(`a.test`, `b.test`)", "b.test"));
  EXPECT_FALSE(matches_sni("!HostSNI(`a.test`, `b.test`)", "b.test"));
  EXPECT_TRUE(matches_sni("!HostSNI(`a.test`, `b.test`)", "c.test"));
}

TEST(RuleV2Syntax, KeepsOperatorsSpacesAndParenthesesAsWritten) {
  EXPECT_EQ(v3("( HostSNI(`a.test`)  ||  hostsni(`b.test`,`c.test`) )"),
            "( HostSNI(`a.test`)  ||  (HostSNI(`b.test`) || HostSNI(`c.test`)) )");
}

TEST(RuleV2Syntax, MatcherNamesInTraefiksFourSpellings) {
  EXPECT_EQ(v3("hostsni(`a.test`)"), "HostSNI(`a.test`)");
  EXPECT_EQ(v3("HOSTSNIREGEXP(`{x}.test`)"), "HostSNIRegexp(`^(?:[^.]+)\\.test$`)");
  EXPECT_EQ(v3("Clientip(`::1`)"), "ClientIP(`::1`)");
  EXPECT_EQ(v3("alpn(`h2`)"), "ALPN(`h2`)");
  expect_error("HostSni(`a.test`)", 0, "HostSNI");
}

TEST(RuleV2Syntax, LeadingStarMatchesEveryClient) {
  // v2 checks the first argument for `*` before anything else; the rule is
  // still not a lone HostSNI(`*`), which Traefik's priority default tells apart.
  EXPECT_EQ(v3("HostSNI(`*`, `a.test`)"), "HostSNI(`*`) || HostSNI(`a.test`)");
  EXPECT_TRUE(matches_sni("HostSNI(`*`, `a.test`)", ""));
  EXPECT_FALSE(is_catch_all(std::get<Rule>(parse(v3("HostSNI(`*`, `a.test`)")))));
  EXPECT_TRUE(is_catch_all(std::get<Rule>(parse(v3("hostsni( `*` )")))));
  // A later `*` matches every client that sent a name.
  EXPECT_EQ(v3("HostSNI(`a.test`, `*`)"), "HostSNI(`a.test`) || HostSNIRegexp(`^.+$`)");
  EXPECT_TRUE(matches_sni("HostSNI(`a.test`, `*`)", "z.test"));
  EXPECT_FALSE(matches_sni("HostSNI(`a.test`, `*`)", ""));
}

TEST(RuleV2Syntax, TemplateVariables) {
  EXPECT_EQ(v3("HostSNIRegexp(`{sub}.example.com`)"), "HostSNIRegexp(`^(?:[^.]+)\\.example\\.com$`)");
  EXPECT_EQ(v3("HostSNIRegexp(`{sub:[a-z]+}.example.com`)"), "HostSNIRegexp(`^(?:[a-z]+)\\.example\\.com$`)");
  // Nested braces belong to the variable's regex; `|` stays inside its group.
  EXPECT_EQ(v3("HostSNIRegexp(`{n:[0-9]{2,3}}-{env:dev|prod}.test`)"),
            "HostSNIRegexp(`^(?:[0-9]{2,3})-(?:dev|prod)\\.test$`)");
  EXPECT_TRUE(matches_sni("HostSNIRegexp(`{sub}.example.com`)", "api.example.com"));
  EXPECT_FALSE(matches_sni("HostSNIRegexp(`{sub}.example.com`)", "a.b.example.com"));
  EXPECT_TRUE(matches_sni("HostSNIRegexp(`{n:[0-9]{2,3}}-{env:dev|prod}.test`)", "42-prod.test"));
  EXPECT_FALSE(matches_sni("HostSNIRegexp(`{n:[0-9]{2,3}}-{env:dev|prod}.test`)", "4-prod.test"));
}

TEST(RuleV2Syntax, TemplatesAreAnchoredWithLiteralPartsEscaped) {
  // In v3 `example.com` is an unanchored regex whose dot matches anything;
  // in v2 it is the literal name.
  EXPECT_EQ(v3("HostSNIRegexp(`example.com`)"), "HostSNIRegexp(`^example\\.com$`)");
  EXPECT_TRUE(matches_sni("HostSNIRegexp(`example.com`)", "example.com"));
  EXPECT_FALSE(matches_sni("HostSNIRegexp(`example.com`)", "examplexcom"));
  EXPECT_FALSE(matches_sni("HostSNIRegexp(`example.com`)", "www.example.com"));
  EXPECT_FALSE(matches_sni("HostSNIRegexp(`example.com`)", "example.com.evil.test"));
  EXPECT_EQ(v3("HostSNIRegexp(`a+b*c?.test`)"), "HostSNIRegexp(`^a\\+b\\*c\\?\\.test$`)");
}

TEST(RuleV2Syntax, TemplatesMatchInAnyCase) {
  // v2 compiled templates with (?i); the SNI arrives in lower case, so the
  // pattern is written in lower case, escapes aside.
  EXPECT_EQ(v3("HostSNIRegexp(`{x:[A-Z]+}.Example.COM`)"), "HostSNIRegexp(`^(?:[a-z]+)\\.example\\.com$`)");
  EXPECT_EQ(v3("HostSNIRegexp(`{x:\\D\\W}.test`)"), "HostSNIRegexp(`^(?:\\D\\W)\\.test$`)");
  EXPECT_TRUE(matches_sni("HostSNIRegexp(`{x:[A-Z]+}.Example.COM`)", "api.example.com"));
}

TEST(RuleV2Syntax, SeveralTemplates) {
  EXPECT_EQ(v3("HostSNIRegexp(`{a}.one.test`, `two.test`)"),
            "HostSNIRegexp(`^(?:[^.]+)\\.one\\.test$`) || HostSNIRegexp(`^two\\.test$`)");
  EXPECT_TRUE(matches_sni("HostSNIRegexp(`{a}.one.test`, `two.test`)", "two.test"));
  EXPECT_TRUE(matches_sni("HostSNIRegexp(`{a}.one.test`, `two.test`)", "x.one.test"));
}

TEST(RuleV2Syntax, DoubleQuotedArgumentsComeOutRaw) {
  EXPECT_EQ(v3("HostSNI(\"a.test\")"), "HostSNI(`a.test`)");
}

TEST(RuleV2Syntax, TemplateErrorsNameThePlace) {
  expect_error("HostSNIRegexp(`{sub.test`)", 15, "unbalanced braces");
  expect_error("HostSNIRegexp(`a}.test`)", 16, "unbalanced braces");
  expect_error("HostSNIRegexp(`{:[a-z]+}.test`)", 15, "missing name or pattern in `{:[a-z]+}`");
  expect_error("HostSNIRegexp(`x.{sub:}.test`)", 17, "missing name or pattern");
  expect_error("HostSNIRegexp(`{x:(}.test`)", 0, "invalid regex");
}

TEST(RuleV2Syntax, RuleErrorsNameThePlace) {
  expect_error("Host(`a.test`)", 0, "HTTP matcher");
  expect_error("HostSNI()", 8, "needs at least one");
  expect_error("HostSNI(`a.test`", 16, "expected `,` or `)`");
  expect_error("HostSNI(`a.test`, `b.test`) &&", 30, "");
  expect_error("HostSNI(`a.test`) HostSNI(`b.test`)", 18, "after a complete expression");
  expect_error("HostSNI(`a.test`) || (ALPN(`h2`)", 21, "unclosed `(`");
  expect_error("HostSNI(`not a name`, `b.test`)", 0, "HostSNI");
  expect_error("ALPN(`h2`, `acme-tls/1`)", 0, "acme-tls/1");
  expect_error("", 0, "empty rule");
  expect_error(std::string(64 * 1024 + 1, ' '), 64 * 1024, "longer than");
}

}  // namespace
}  // namespace snigate::rule
