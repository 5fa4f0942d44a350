#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "rule/rule.hpp"

namespace snigate::rule {
namespace {

Rule compile(std::string_view text) {
  auto r = parse(text);
  if (auto* e = std::get_if<ParseError>(&r)) {
    ADD_FAILURE() << "`" << text << "` failed at " << e->offset << ": " << e->message;
    return {};
  }
  return std::get<Rule>(std::move(r));
}

// Facts that own their storage, since Facts holds views.
struct Client {
  bool tls = true;
  std::string sni;
  std::vector<std::string> alpn;
  std::string ip = "192.0.2.1";

  Facts facts() const {
    Facts f;
    f.tls = tls;
    f.sni = sni;
    f.alpn = alpn;
    if (!ip.empty()) f.client_ip = IpAddress::parse(ip);
    return f;
  }
};

Client tls(std::string sni) { return Client{true, std::move(sni), {}, "192.0.2.1"}; }
Client plain() { return Client{false, "", {}, "192.0.2.1"}; }

bool matches(std::string_view rule, const Client& c) {
  const Rule r = compile(rule);
  const bool m = match(r, c.facts());
  // explain_mismatch must agree with match in every test.
  EXPECT_EQ(explain_mismatch(r, c.facts()).empty(), m) << rule;
  return m;
}

std::string why(std::string_view rule, const Client& c) { return explain_mismatch(compile(rule), c.facts()); }

TEST(RuleMatch, HostSniExact) {
  EXPECT_TRUE(matches("HostSNI(`a.example.com`)", tls("a.example.com")));
  EXPECT_FALSE(matches("HostSNI(`a.example.com`)", tls("b.example.com")));
  EXPECT_FALSE(matches("HostSNI(`a.example.com`)", tls("a.example.com.evil")));
  EXPECT_FALSE(matches("HostSNI(`a.example.com`)", tls("xa.example.com")));
  EXPECT_FALSE(matches("HostSNI(`a.example.com`)", tls("")));
  EXPECT_FALSE(matches("HostSNI(`a.example.com`)", plain()));
}

TEST(RuleMatch, HostSniIsCaseInsensitive) {
  EXPECT_TRUE(matches("HostSNI(`A.Example.COM`)", tls("a.example.com")));
  EXPECT_TRUE(matches("HostSNI(`a.example.com`)", tls("A.EXAMPLE.com")));  // even if the caller forgot to lowercase
  EXPECT_TRUE(matches("HostSNI(`*.Example.Com`)", tls("x.example.com")));
}

TEST(RuleMatch, HostSniTrailingDot) {
  EXPECT_TRUE(matches("HostSNI(`a.example.com.`)", tls("a.example.com")));
  EXPECT_TRUE(matches("HostSNI(`a.example.com`)", tls("a.example.com.")));
}

TEST(RuleMatch, HostSniStarMatchesEveryone) {
  EXPECT_TRUE(matches("HostSNI(`*`)", tls("anything.example")));
  EXPECT_TRUE(matches("HostSNI(`*`)", tls("")));
  EXPECT_TRUE(matches("HostSNI(`*`)", plain()));
  EXPECT_TRUE(matches("HostSNI(`*`)", Client{false, "", {}, ""}));  // not even an address
}

TEST(RuleMatch, WildcardIsExactlyOneLabel) {
  const char* rule = "HostSNI(`*.example.com`)";
  EXPECT_TRUE(matches(rule, tls("a.example.com")));
  EXPECT_TRUE(matches(rule, tls("xn--bcher-kva.example.com")));
  EXPECT_FALSE(matches(rule, tls("example.com")));
  EXPECT_FALSE(matches(rule, tls(".example.com")));
  EXPECT_FALSE(matches(rule, tls("a.b.example.com")));
  EXPECT_FALSE(matches(rule, tls("aexample.com")));
  EXPECT_FALSE(matches(rule, tls("a.example.org")));
  EXPECT_FALSE(matches(rule, tls("a.example.com.org")));
  EXPECT_FALSE(matches(rule, tls("")));
  EXPECT_FALSE(matches(rule, plain()));
}

TEST(RuleMatch, HostSniSeveralNamesMeanAnyOf) {
  const char* rule = "HostSNI(`a.example.com`, `*.b.example.com`)";
  EXPECT_TRUE(matches(rule, tls("a.example.com")));
  EXPECT_TRUE(matches(rule, tls("x.b.example.com")));
  EXPECT_FALSE(matches(rule, tls("b.example.com")));
  EXPECT_FALSE(matches(rule, plain()));
}

TEST(RuleMatch, RegexSearchesTheName) {
  EXPECT_TRUE(matches("HostSNIRegexp(`^.+\\.example\\.com$`)", tls("a.b.example.com")));
  EXPECT_FALSE(matches("HostSNIRegexp(`^.+\\.example\\.com$`)", tls("example.com")));
  // Unanchored patterns match anywhere in the name, as Go's MatchString does.
  EXPECT_TRUE(matches("HostSNIRegexp(`example`)", tls("www.example.org")));
  EXPECT_FALSE(matches("HostSNIRegexp(`^example`)", tls("www.example.org")));
}

TEST(RuleMatch, RegexSeesTheNameInLowerCase) {
  // As in Traefik: the client's name is lowercased, the pattern is case-sensitive
  // unless it says (?i).
  EXPECT_FALSE(matches("HostSNIRegexp(`^DB-[0-9]+\\.Internal$`)", tls("db-12.internal")));
  EXPECT_TRUE(matches("HostSNIRegexp(`(?i)^DB-[0-9]+\\.Internal$`)", tls("db-12.internal")));
  EXPECT_FALSE(matches("HostSNIRegexp(`^[A-Z]+$`)", tls("abc")));
  EXPECT_TRUE(matches("HostSNIRegexp(`^[^A-Z]+$`)", tls("abc")));
}

TEST(RuleMatch, RegexNeedsAName) {
  EXPECT_FALSE(matches("HostSNIRegexp(`.*`)", tls("")));
  EXPECT_FALSE(matches("HostSNIRegexp(`^$`)", plain()));
}

TEST(RuleMatch, RegexStaysFastOnPathologicalPatterns) {
  // Exponential for a backtracking matcher; must finish at once.
  EXPECT_FALSE(matches("HostSNIRegexp(`^(a+)+$`)", tls(std::string(60, 'a') + "!")));
  EXPECT_FALSE(matches("HostSNIRegexp(`^(a|aa)*$`)", tls(std::string(200, 'a') + "b")));
}

TEST(RuleMatch, Alpn) {
  Client c = tls("a");
  c.alpn = {"h2", "http/1.1"};
  EXPECT_TRUE(matches("ALPN(`h2`)", c));
  EXPECT_TRUE(matches("ALPN(`http/1.1`)", c));
  EXPECT_FALSE(matches("ALPN(`h3`)", c));
  EXPECT_FALSE(matches("ALPN(`H2`)", c));  // protocol names are exact bytes
  EXPECT_TRUE(matches("ALPN(`h3`, `h2`)", c));
  EXPECT_FALSE(matches("ALPN(`h2`)", tls("a")));
}

TEST(RuleMatch, Operators) {
  const Client c = tls("a.example.com");
  EXPECT_TRUE(matches("HostSNI(`a.example.com`) && ClientIP(`192.0.2.0/24`)", c));
  EXPECT_FALSE(matches("HostSNI(`a.example.com`) && ClientIP(`10.0.0.0/8`)", c));
  EXPECT_TRUE(matches("HostSNI(`b.example.com`) || ClientIP(`192.0.2.0/24`)", c));
  EXPECT_FALSE(matches("HostSNI(`b.example.com`) || ClientIP(`10.0.0.0/8`)", c));
  EXPECT_FALSE(matches("!HostSNI(`a.example.com`)", c));
  EXPECT_TRUE(matches("!!HostSNI(`a.example.com`)", c));
  EXPECT_TRUE(matches("!HostSNI(`b.example.com`)", c));
}

TEST(RuleMatch, Precedence) {
  const Client c = tls("a");
  const char* t = "HostSNI(`a`)";
  const char* f = "HostSNI(`b`)";
  auto rule = [](std::initializer_list<std::string_view> parts) {
    std::string s;
    for (auto p : parts) s += p;
    return s;
  };
  // && binds tighter than ||: f && f || t == (f && f) || t
  EXPECT_TRUE(matches(rule({f, " && ", f, " || ", t}), c));
  EXPECT_FALSE(matches(rule({f, " && (", f, " || ", t, ")"}), c));
  // t || t && f == t || (t && f)
  EXPECT_TRUE(matches(rule({t, " || ", t, " && ", f}), c));
  EXPECT_FALSE(matches(rule({"(", t, " || ", t, ") && ", f}), c));
  // ! binds tighter than &&: !f && f == (!f) && f
  EXPECT_FALSE(matches(rule({"!", f, " && ", f}), c));
  EXPECT_TRUE(matches(rule({"!(", f, " && ", f, ")"}), c));
  // !t || t == (!t) || t
  EXPECT_TRUE(matches(rule({"!", t, " || ", t}), c));
  EXPECT_FALSE(matches(rule({"!(", t, " || ", t, ")"}), c));
  // Long mixed chain: f || f && t || t && t
  EXPECT_TRUE(matches(rule({f, " || ", f, " && ", t, " || ", t, " && ", t}), c));
  EXPECT_FALSE(matches(rule({f, " || ", f, " && ", t, " || ", t, " && ", f}), c));
}

TEST(RuleMatch, DesignExample) {
  const char* rule =
      "HostSNI(`db.example.com`) || (HostSNIRegexp(`^.+\\.tenant\\.example\\.com$`) && ClientIP(`10.0.0.0/8`))";
  EXPECT_TRUE(matches(rule, tls("db.example.com")));
  Client inside = tls("x.tenant.example.com");
  inside.ip = "10.1.1.1";
  EXPECT_TRUE(matches(rule, inside));
  EXPECT_FALSE(matches(rule, tls("x.tenant.example.com")));
  EXPECT_EQ(why(rule, tls("x.tenant.example.com")),
            "none of: HostSNI(`db.example.com`) does not match SNI \"x.tenant.example.com\"; "
            "ClientIP(`10.0.0.0/8`) does not match client address 192.0.2.1");
}

TEST(RuleExplain, EmptyWhenMatching) {
  EXPECT_EQ(why("HostSNI(`*`)", plain()), "");
  EXPECT_EQ(why("HostSNI(`a`)", tls("a")), "");
}

TEST(RuleExplain, Leaves) {
  EXPECT_EQ(why("HostSNI(`a.example.com`)", tls("b.example.com")),
            "HostSNI(`a.example.com`) does not match SNI \"b.example.com\"");
  EXPECT_EQ(why("HostSNI(`a.example.com`)", tls("")),
            "HostSNI(`a.example.com`) needs a server name; the client sent no SNI");
  EXPECT_EQ(why("HostSNI(`a.example.com`)", plain()),
            "HostSNI(`a.example.com`) needs a server name; the client sent no SNI (it did not start TLS)");
  EXPECT_EQ(why("HostSNIRegexp(`^a$`)", tls("b")), "HostSNIRegexp(`^a$`) does not match SNI \"b\"");
  EXPECT_EQ(why("ClientIP(`10.0.0.0/8`)", tls("a")), "ClientIP(`10.0.0.0/8`) does not match client address 192.0.2.1");
  EXPECT_EQ(why("ALPN(`h2`)", tls("a")), "ALPN(`h2`) does not match: the client offered no ALPN protocols");
  Client c = tls("a");
  c.alpn = {"http/1.1", "spdy/3"};
  EXPECT_EQ(why("ALPN(`h2`)", c), "ALPN(`h2`) does not match the client's ALPN offer [\"http/1.1\", \"spdy/3\"]");
}

TEST(RuleExplain, Operators) {
  const Client c = tls("a");
  EXPECT_EQ(why("HostSNI(`a`) && ClientIP(`10.0.0.0/8`) && ALPN(`h2`)", c),
            "ClientIP(`10.0.0.0/8`) does not match client address 192.0.2.1");
  EXPECT_EQ(why("HostSNI(`b`) || HostSNI(`c`)", c),
            "none of: HostSNI(`b`) does not match SNI \"a\"; HostSNI(`c`) does not match SNI \"a\"");
  EXPECT_EQ(why("!HostSNI(`a`)", c), "HostSNI(`a`) matches");
  EXPECT_EQ(why("!(HostSNI(`a`) || HostSNI(`b`))", c), "(HostSNI(`a`) || HostSNI(`b`)) matches");
  EXPECT_EQ(why("!!HostSNI(`b`)", c), "!HostSNI(`b`) matches");
}

TEST(RuleExplain, IsOneLineWhateverTheInput) {
  const std::string e = why("HostSNI(`a`)\n&&\nALPN(`x\ny`)", tls("a\n\"b\x01"));
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  EXPECT_EQ(e, "HostSNI(`a`) does not match SNI \"a\\x0a\\\"b\\x01\"");
  const std::string n = why("!ALPN(`x\ny`)", [] {
    Client c = tls("a");
    c.alpn = {"x\ny"};
    return c;
  }());
  EXPECT_EQ(n, "ALPN(`x y`) matches");
}

TEST(RuleMatch, DefaultRuleMatchesNothing) {
  EXPECT_FALSE(match(Rule{}, tls("a").facts()));
  EXPECT_FALSE(explain_mismatch(Rule{}, tls("a").facts()).empty());
}

}  // namespace
}  // namespace snigate::rule
