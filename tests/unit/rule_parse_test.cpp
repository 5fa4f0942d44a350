#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "rule/rule.hpp"

namespace snigate::rule {
namespace {

Rule ok(std::string_view text) {
  auto r = parse(text);
  if (auto* e = std::get_if<ParseError>(&r)) {
    ADD_FAILURE() << "`" << text << "` failed at " << e->offset << ": " << e->message;
    return {};
  }
  return std::get<Rule>(std::move(r));
}

ParseError err(std::string_view text) {
  auto r = parse(text);
  if (!std::holds_alternative<ParseError>(r)) {
    ADD_FAILURE() << "`" << text << "` parsed";
    return {};
  }
  return std::get<ParseError>(r);
}

// The error's offset and a fragment of its message.
void expect_error(std::string_view text, std::size_t offset, std::string_view needle) {
  const ParseError e = err(text);
  EXPECT_EQ(e.offset, offset) << text << ": " << e.message;
  EXPECT_NE(e.message.find(needle), std::string::npos) << text << ": " << e.message;
}

TEST(RuleParse, AcceptsEveryMatcher) {
  ok("HostSNI(`a.example.com`)");
  ok("HostSNI(`*`)");
  ok("HostSNI(`*.example.com`)");
  ok("HostSNI(`a.example.com`, `b.example.com`)");
  ok("HostSNIRegexp(`^.+\\.example\\.com$`)");
  ok("ClientIP(`10.0.0.0/8`)");
  ok("ClientIP(`::1`, `192.0.2.0/24`)");
  ok("ALPN(`h2`)");
  ok("ALPN(`postgresql`, `http/1.1`)");
}

TEST(RuleParse, KeepsTextAsWritten) {
  EXPECT_EQ(ok("  HostSNI(`a`)\n").text, "  HostSNI(`a`)\n");
}

TEST(RuleParse, AcceptsDoubleQuotedStrings) {
  ok("HostSNI(\"a.example.com\")");
  ok("HostSNIRegexp(\"^a\\\\.example\\\\.com$\")");  // Go-style escaped backslash
  ok("HostSNI(\"a.example.com\", `b.example.com`)");
  ok("ALPN(\"x\\\"y\")");
}

TEST(RuleParse, WhitespaceAnywhere) {
  ok(" \t\n HostSNI ( `a` , `b` ) \n&&\n!\t( ClientIP(`::1`) || ALPN(`h2`) ) \r\n");
  ok("HostSNI(`a`)&&!ALPN(`h2`)||ClientIP(`::1`)");
  ok("!!HostSNI(`a`)");
}

TEST(RuleParse, ParenthesesAreTransparent) {
  EXPECT_TRUE(is_catch_all(ok("HostSNI(`*`)")));
  EXPECT_TRUE(is_catch_all(ok("((HostSNI(`*`)))")));
  EXPECT_TRUE(is_catch_all(ok(" ( HostSNI( `*` ) ) ")));
  EXPECT_TRUE(is_catch_all(ok("HostSNI(`*`, `a.example.com`)")));  // `*` already matches everyone
  EXPECT_FALSE(is_catch_all(ok("HostSNI(`*`) && ClientIP(`::1`)")));
  EXPECT_FALSE(is_catch_all(ok("HostSNI(`a`)")));
  EXPECT_FALSE(is_catch_all(ok("!HostSNI(`*`)")));
  EXPECT_FALSE(is_catch_all(ok("HostSNIRegexp(`.*`)")));
  EXPECT_FALSE(is_catch_all(Rule{}));
}

TEST(RuleParse, NeedsSni) {
  EXPECT_FALSE(needs_sni(ok("HostSNI(`*`)")));
  EXPECT_FALSE(needs_sni(ok("ClientIP(`::1`)")));
  EXPECT_FALSE(needs_sni(ok("ALPN(`h2`) && HostSNI(`*`)")));
  EXPECT_TRUE(needs_sni(ok("HostSNI(`a`)")));
  EXPECT_TRUE(needs_sni(ok("HostSNIRegexp(`a`)")));
  EXPECT_TRUE(needs_sni(ok("ClientIP(`::1`) || !(ALPN(`h2`) && HostSNI(`*.example.com`))")));
  EXPECT_FALSE(needs_sni(Rule{}));
}

TEST(RuleParse, CanMatchPlain) {
  EXPECT_TRUE(can_match_plain(ok("HostSNI(`*`)")));
  EXPECT_TRUE(can_match_plain(ok("ClientIP(`10.0.0.0/8`)")));
  EXPECT_TRUE(can_match_plain(ok("HostSNI(`a.test`) || ClientIP(`::1`)")));
  EXPECT_TRUE(can_match_plain(ok("!HostSNI(`a.test`)")));
  EXPECT_TRUE(can_match_plain(ok("!ALPN(`h2`) && HostSNI(`*`)")));
  EXPECT_TRUE(can_match_plain(ok("!(ClientIP(`::1`) && HostSNI(`a`))")));
  EXPECT_FALSE(can_match_plain(ok("HostSNI(`a.test`)")));
  EXPECT_FALSE(can_match_plain(ok("HostSNIRegexp(`^.*$`)")));
  EXPECT_FALSE(can_match_plain(ok("ALPN(`h2`) && HostSNI(`*`)")));
  EXPECT_FALSE(can_match_plain(ok("ClientIP(`::1`) && HostSNI(`a.test`)")));
  EXPECT_FALSE(can_match_plain(ok("!HostSNI(`*`)")));
  EXPECT_FALSE(can_match_plain(Rule{}));
}

TEST(RuleParse, PatternsWithCapitals) {
  using V = std::vector<std::string>;
  EXPECT_EQ(patterns_with_capitals(ok("HostSNIRegexp(`^DB-[0-9]+$`)")), V{"^DB-[0-9]+$"});
  EXPECT_EQ(patterns_with_capitals(ok("HostSNI(`a`) || HostSNIRegexp(`\\QAB\\E`)")), V{"\\QAB\\E"});
  EXPECT_TRUE(patterns_with_capitals(ok("HostSNIRegexp(`(?i)^DB-[0-9]+$`)")).empty());
  EXPECT_TRUE(patterns_with_capitals(ok("HostSNIRegexp(`^[A-Za-z]+\\.test$`)")).empty());
  EXPECT_TRUE(patterns_with_capitals(ok("HostSNIRegexp(`^\\D+\\p{Greek}\\S\\z`)")).empty());
  EXPECT_TRUE(patterns_with_capitals(ok("HostSNIRegexp(`^(?P<Name>[a-z]+)\\.test$`)")).empty());
  EXPECT_TRUE(patterns_with_capitals(ok("HostSNIRegexp(`^db-[0-9]{2,3}$`)")).empty());
}

TEST(RuleParse, EmptyRule) {
  expect_error("", 0, "empty rule");
  expect_error("  \n\t ", 0, "empty rule");
}

TEST(RuleParse, UnknownMatcherListsTheRealOnes) {
  expect_error("Foo(`a`)", 0, "unknown matcher `Foo`; TCP matchers are HostSNI, HostSNIRegexp, ClientIP, ALPN");
  expect_error("HostSNI(`a`) && Bar(`b`)", 16, "unknown matcher `Bar`");
}

TEST(RuleParse, HttpMatchersPointToHostSni) {
  expect_error("Host(`a.example.com`)", 0, "`Host` is an HTTP matcher; TCP routers use HostSNI");
  expect_error("PathPrefix(`/api`)", 0, "`PathPrefix` is an HTTP matcher");
  expect_error("HostSNI(`a`) || HostRegexp(`.*`)", 16, "is an HTTP matcher");
  expect_error("Headers(`a`, `b`)", 0, "is an HTTP matcher");
}

// Traefik's four spellings of each matcher, and no other mixture.
TEST(RuleParse, MatchersInTraefiksSpellings) {
  for (const char* r : {"hostsni(`a`)", "HOSTSNI(`a`)", "Hostsni(`a`)", "hostsniregexp(`^a$`)", "HOSTSNIREGEXP(`^a$`)",
                        "Hostsniregexp(`^a$`)", "clientip(`::1`)", "CLIENTIP(`::1`)", "Clientip(`::1`)", "alpn(`h2`)",
                        "Alpn(`h2`)"}) {
    ok(r);
  }
  Facts f;
  f.tls = true;
  f.sni = "a.example.com";
  EXPECT_TRUE(match(ok("hostsni(`a.example.com`)"), f)) << "a spelling is the matcher itself";
  EXPECT_FALSE(match(ok("HOSTSNI(`b.example.com`)"), f));
  EXPECT_TRUE(is_catch_all(ok("hostsni(`*`)")));
  expect_error("HostSni(`a`)", 0, "did you mean `HostSNI`?");
  expect_error("hostSNI(`a`)", 0, "all in lower case, all in upper case");
  expect_error("ClientIp(`::1`)", 0, "did you mean `ClientIP`?");
  expect_error("aLPN(`h2`)", 0, "did you mean `ALPN`?");
}

TEST(RuleParse, WordOperators) {
  expect_error("HostSNI(`a`) and HostSNI(`b`)", 13, "unexpected `and`");
  expect_error("not HostSNI(`a`)", 0, "the operators are `&&`, `||` and `!`");
}

TEST(RuleParse, MissingArgument) {
  expect_error("HostSNI()", 8, "HostSNI needs an argument, e.g. HostSNI(`example.com`)");
  expect_error("ClientIP( )", 10, "ClientIP needs an argument");
  expect_error("ALPN()", 5, "ALPN needs an argument");
  expect_error("HostSNIRegexp()", 14, "HostSNIRegexp needs an argument");
  expect_error("HostSNI", 7, "expected `(` after HostSNI, found the end of the rule");
  expect_error("HostSNI `a`", 8, "expected `(` after HostSNI");
  expect_error("HostSNI(`a`,)", 12, "expected another argument after `,`");
  expect_error("HostSNI(`a` `b`)", 12, "expected `,` or `)`");
  expect_error("HostSNI(`a`", 11, "expected `,` or `)`, found the end of the rule");
  expect_error("HostSNI(a.example.com)", 8, "arguments are quoted strings, e.g. HostSNI(`a`)");
}

TEST(RuleParse, UnterminatedStrings) {
  expect_error("HostSNI(`a.example.com)", 8, "missing closing backquote");
  expect_error("HostSNI(\"a.example.com)", 8, "missing closing double quote");
  expect_error("HostSNI(\"a\nb\")", 8, "missing closing double quote");
  expect_error("HostSNI(\"a\\", 10, "unknown escape");
}

TEST(RuleParse, BadQuotingAndEscapes) {
  expect_error("HostSNI('a')", 8, "not single quotes");
  expect_error("HostSNIRegexp(\"^a\\.b$\")", 17, "unknown escape");
}

TEST(RuleParse, TrailingInput) {
  expect_error("HostSNI(`a`) HostSNI(`b`)", 13, "after a complete expression");
  expect_error("HostSNI(`a`))", 12, "unmatched `)`");
  expect_error("HostSNI(`a`) &&", 15, "expected a matcher");
  expect_error("HostSNI(`a`) ||", 15, "expected a matcher");
  expect_error("HostSNI(`a`) !", 13, "after a complete expression");
  expect_error("HostSNI(`a`) `b`", 13, "after a complete expression");
}

TEST(RuleParse, BadOperators) {
  expect_error("HostSNI(`a`) & HostSNI(`b`)", 13, "the AND operator is `&&`");
  expect_error("HostSNI(`a`) | HostSNI(`b`)", 13, "the OR operator is `||`");
  expect_error("HostSNI(`a`) && && HostSNI(`b`)", 16, "expected a matcher");
  expect_error("HostSNI(`a`) ; x", 13, "unexpected `;`");
  expect_error("HostSNI(`a`) \x01", 13, "unexpected byte 0x01");
}

TEST(RuleParse, Parentheses) {
  expect_error("(HostSNI(`a`)", 0, "unclosed `(`");
  expect_error("()", 1, "empty parentheses");
  expect_error("(HostSNI(`a`) HostSNI(`b`))", 14, "expected `)` or an operator");
  expect_error(")", 0, "expected a matcher");
  expect_error("`a`", 0, "a string must be the argument of a matcher");
}

TEST(RuleParse, HostSniArguments) {
  expect_error("HostSNI(``)", 8, "needs a server name");
  expect_error("HostSNI(`a.*.com`)", 8, "wildcard must be the whole first label");
  expect_error("HostSNI(`*example.com`)", 8, "wildcard must be the whole first label");
  expect_error("HostSNI(`*.*.example.com`)", 8, "wildcard");
  expect_error("HostSNI(`a b`)", 8, "not a valid server name");
  expect_error("HostSNI(`a..b`)", 8, "empty label");
  expect_error("HostSNI(`.a`)", 8, "empty label");
  expect_error("HostSNI(`*.`)", 8, "wildcard");
  expect_error("HostSNI(`ok`, `b\xc3\xa9.example`)", 14, "not ASCII");
  ok("HostSNI(`A.Example.COM.`)");
  ok("HostSNI(`under_score.example.com`)");
}

TEST(RuleParse, RegexArguments) {
  expect_error("HostSNIRegexp(`(`)", 14, "invalid regex `(`");
  expect_error("HostSNIRegexp(`[a-`)", 14, "invalid regex");
  expect_error("HostSNIRegexp(`*a`)", 14, "invalid regex");
  expect_error("HostSNIRegexp(`a{2,1}`)", 14, "invalid regex");
  expect_error("HostSNIRegexp(``)", 14, "non-empty regex");
  expect_error("HostSNIRegexp(`a`, `b`)", 19, "takes one regex");
  // RE2, as Go's regexp: no repetition count above 1000, alone or nested.
  expect_error("HostSNIRegexp(`((a{100}){100}){100}`)", 14, "invalid repetition size");
  expect_error("HostSNIRegexp(`\\d{99999}`)", 14, "invalid repetition size: {99999}");
  ok("HostSNIRegexp(`^[a-z0-9-]{1,63}\\.example\\.com$`)");
  ok("HostSNIRegexp(`^(db|cache)-[0-9]+\\.internal$`)");
}

TEST(RuleParse, AlpnArguments) {
  expect_error("ALPN(`acme-tls/1`)", 5, "reserved for ACME");
  expect_error("ALPN(`h2`, `acme-tls/1`)", 11, "reserved for ACME");
  expect_error("ALPN(``)", 5, "needs a protocol name");
  expect_error("ALPN(`" + std::string(256, 'x') + "`)", 5, "at most 255 bytes");
}

TEST(RuleParse, NestingLimit) {
  const std::string deep_ok = std::string(64, '(') + "HostSNI(`a`)" + std::string(64, ')');
  ok(deep_ok);
  expect_error(std::string(65, '(') + "HostSNI(`a`)" + std::string(65, ')'), 64, "deeper than 64 levels");
  expect_error(std::string(65, '!') + "HostSNI(`a`)", 64, "deeper than 64 levels");
  ok(std::string(64, '!') + "HostSNI(`a`)");
  // Hostile depth fails fast without touching the stack.
  expect_error(std::string(60000, '('), 64, "deeper than 64 levels");
}

TEST(RuleParse, LengthLimit) {
  std::string chain = "HostSNI(`a0`)";
  for (int i = 1; chain.size() < 60000; ++i) chain += " || HostSNI(`a" + std::to_string(i) + "`)";
  ok(chain);  // long flat chains are fine: they do not nest
  std::string too_long(64 * 1024 + 1, ' ');
  too_long.replace(0, 12, "HostSNI(`a`)");
  expect_error(too_long, 64 * 1024, "longer than 65536 bytes");
}

}  // namespace
}  // namespace snigate::rule
