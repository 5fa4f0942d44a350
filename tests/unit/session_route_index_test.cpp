// session/route_index: what each rule is filed under, and a property test that
// the index picks exactly the route that trying every route in order picks.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <array>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <re2/re2.h>

#include "rule/sni_keys.hpp"
#include "session/route_index.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {
namespace {

Route make_route(const std::string& name, const std::string& rule_text, int priority, bool tls) {
  auto parsed = rule::parse(rule_text);
  if (auto* e = std::get_if<rule::ParseError>(&parsed)) ADD_FAILURE() << rule_text << ": " << e->message;
  Route r;
  r.name = name;
  r.rule = std::get<rule::Rule>(std::move(parsed));
  r.priority = priority;
  r.tls = tls;
  return r;
}

// The order compile() gives an entry point's routes.
void sort_routes(std::vector<Route>& routes) {
  std::ranges::sort(routes, [](const Route& a, const Route& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.name < b.name;
  });
}

// What match() did before the index: every route, in order.
const Route* walk(const std::vector<Route>& routes, const Facts& facts) {
  for (const Route& r : routes)
    if (r.tls == facts.tls && rule::match(r.rule, facts)) return &r;
  return nullptr;
}

std::string name_of(const Route* r) { return r ? r->name : "(none)"; }

Facts tls_client(std::string_view sni) {
  Facts f;
  f.tls = true;
  f.sni = sni;
  return f;
}

std::vector<std::string> keys_of(const std::unordered_map<std::string_view, SniTable::Range>& map) {
  std::vector<std::string> out;
  for (const auto& [key, range] : map) out.emplace_back(key);
  std::ranges::sort(out);
  return out;
}

// ---- what is filed where -----------------------------------------------------

TEST(RouteIndex, FilesExactNamesWildcardsAndTheRest) {
  std::vector<Route> routes;
  routes.push_back(make_route("exact", "HostSNI(`A.Example.com.`, `b.example.com`)", 3, true));
  routes.push_back(make_route("wild", "HostSNI(`*.example.com`)", 2, true));
  routes.push_back(make_route("any", "HostSNI(`*`)", 1, true));
  routes.push_back(make_route("plain", "HostSNI(`*`)", 0, false));
  const RouteIndex index = build_route_index(routes);
  const SniTable& tls = index.by_tls[1];
  EXPECT_EQ(keys_of(tls.exact), (std::vector<std::string>{"a.example.com", "b.example.com"}));
  EXPECT_EQ(keys_of(tls.suffixes), (std::vector<std::string>{"example.com"}));
  EXPECT_EQ(tls.rest, (std::vector<std::uint32_t>{2}));
  EXPECT_TRUE(index.by_tls[0].exact.empty());
  EXPECT_EQ(index.by_tls[0].rest, (std::vector<std::uint32_t>{3}));
}

TEST(RouteIndex, AndKeepsTheMostSelectivePartOrKeepsAllBranchesOrNothing) {
  // The keys are views into the rule's tree, so the rules live as long as the test.
  std::vector<rule::Rule> rules;
  auto keys = [&rules](const std::string& text) {
    rules.push_back(std::get<rule::Rule>(rule::parse(text)));
    return rule::sni_keys(rules.back());
  };
  auto exact_and = keys("HostSNI(`*.x.io`) && (HostSNI(`a.x.io`) && ALPN(`h2`))");
  ASSERT_TRUE(exact_and.has_value());
  EXPECT_EQ(exact_and->exact, (std::vector<std::string_view>{"a.x.io"}));
  EXPECT_TRUE(exact_and->suffixes.empty());
  auto both = keys("HostSNI(`a.x.io`) || (HostSNI(`*.y.io`) && ClientIP(`10.0.0.0/8`))");
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(both->exact, (std::vector<std::string_view>{"a.x.io"}));
  EXPECT_EQ(both->suffixes, (std::vector<std::string_view>{"y.io"}));
  EXPECT_FALSE(keys("HostSNI(`a.x.io`) || ALPN(`h2`)").has_value());
  EXPECT_FALSE(keys("!HostSNI(`a.x.io`)").has_value());
  EXPECT_FALSE(keys("HostSNI(`a.x.io`, `*`)").has_value());
  EXPECT_FALSE(keys("!HostSNIRegexp(`^a`)").has_value());
  EXPECT_FALSE(keys("HostSNIRegexp(`^a`) || ALPN(`h2`)").has_value());
}

TEST(RouteIndex, RegexpsAreKeysWhenNothingBetterIsNecessary) {
  std::vector<rule::Rule> rules;
  auto keys = [&rules](const std::string& text) {
    rules.push_back(std::get<rule::Rule>(rule::parse(text)));
    return rule::sni_keys(rules.back());
  };
  auto alone = keys("HostSNIRegexp(`^a\\.x\\.io$`)");
  ASSERT_TRUE(alone.has_value());
  EXPECT_TRUE(alone->exact.empty() && alone->suffixes.empty());
  ASSERT_EQ(alone->regexps.size(), 1u);
  EXPECT_EQ(alone->regexps[0]->pattern(), "^a\\.x\\.io$");
  // In an `&&` a name or a wildcard is kept rather than a regexp.
  auto and_name = keys("HostSNIRegexp(`^a`) && HostSNI(`a.x.io`, `a.y.io`)");
  ASSERT_TRUE(and_name.has_value());
  EXPECT_EQ(and_name->exact.size(), 2u);
  EXPECT_TRUE(and_name->regexps.empty());
  auto and_wild = keys("HostSNI(`*.x.io`) && HostSNIRegexp(`^a`)");
  ASSERT_TRUE(and_wild.has_value());
  EXPECT_EQ(and_wild->suffixes, (std::vector<std::string_view>{"x.io"}));
  EXPECT_TRUE(and_wild->regexps.empty());
  auto and_ip = keys("ClientIP(`10.0.0.0/8`) && HostSNIRegexp(`^a`)");
  ASSERT_TRUE(and_ip.has_value());
  EXPECT_EQ(and_ip->regexps.size(), 1u);
  // An `||` keeps every branch's keys, regexps with names.
  auto any = keys("HostSNIRegexp(`^a`) || HostSNI(`b.x.io`, `*.y.io`) || HostSNIRegexp(`^c`)");
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->exact, (std::vector<std::string_view>{"b.x.io"}));
  EXPECT_EQ(any->suffixes, (std::vector<std::string_view>{"y.io"}));
  EXPECT_EQ(any->regexps.size(), 2u);
}

TEST(RouteIndex, FilesEachDistinctRegexpOnceWithItsRoutes) {
  std::vector<Route> routes;
  routes.push_back(make_route("r1", "HostSNIRegexp(`^db-[0-9]+\\.`)", 9, true));
  routes.push_back(make_route("r2", "HostSNIRegexp(`^db-[0-9]+\\.`) && ALPN(`h2`)", 8, true));
  routes.push_back(make_route("r3", "HostSNIRegexp(`\\.test$`) || HostSNI(`a.example.com`)", 7, true));
  routes.push_back(make_route("r4", "!HostSNIRegexp(`^x`)", 6, true));
  routes.push_back(make_route("r5", "HostSNIRegexp(`^db-[0-9]+\\.`)", 5, false));
  const RouteIndex index = build_route_index(routes);
  const SniTable& tls = index.by_tls[1];
  EXPECT_EQ(tls.regexps.patterns, 2u);
  EXPECT_EQ(tls.regexps.failed_chunks, 0u);
  ASSERT_EQ(tls.regexp_routes.size(), 2u);
  auto routes_of = [&tls](std::size_t pattern) {
    const SniTable::Range r = tls.regexp_routes[pattern];
    return std::vector<std::uint32_t>(tls.positions.begin() + r.begin, tls.positions.begin() + r.end);
  };
  // Patterns in byte order: "\\.test$" before "^db-...".
  EXPECT_EQ(routes_of(0), (std::vector<std::uint32_t>{2}));
  EXPECT_EQ(routes_of(1), (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(keys_of(tls.exact), (std::vector<std::string>{"a.example.com"}));
  EXPECT_EQ(tls.rest, (std::vector<std::uint32_t>{3}));
  EXPECT_EQ(index.by_tls[0].regexps.patterns, 1u);
  EXPECT_TRUE(index.by_tls[0].rest.empty());
}

TEST(RouteIndex, CandidatesAreTheNameHitsAndTheRest) {
  std::vector<Route> routes;
  routes.push_back(make_route("by-alpn", "ALPN(`h2`)", 9, true));
  routes.push_back(make_route("db", "HostSNIRegexp(`^db-[0-9]+\\.`)", 8, true));
  routes.push_back(make_route("name", "HostSNI(`db-1.example.com`)", 7, true));
  routes.push_back(make_route("wild", "HostSNI(`*.example.com`) || HostSNIRegexp(`example`)", 6, true));
  routes.push_back(make_route("other", "HostSNI(`x.example.org`)", 5, true));
  routes.push_back(make_route("plain", "HostSNI(`*`)", 0, false));
  const RouteIndex index = build_route_index(routes);
  const Candidates c = candidates(index, tls_client("db-1.example.com"));
  EXPECT_EQ(c.by_name, (std::vector<std::uint32_t>{1, 2, 3}));  // "wild" once, though both its parts hit
  EXPECT_EQ(c.rest, (std::vector<std::uint32_t>{0}));
  const Candidates none = candidates(index, tls_client(""));
  EXPECT_TRUE(none.by_name.empty());
  EXPECT_EQ(none.rest, (std::vector<std::uint32_t>{0}));
  const Candidates plain = candidates(index, Facts{});
  EXPECT_TRUE(plain.by_name.empty());
  EXPECT_EQ(plain.rest, (std::vector<std::uint32_t>{5}));
}

TEST(RouteIndex, LookupKeyFoldsCaseAndOneTrailingDotLikeHostSni) {
  std::string buffer;
  EXPECT_EQ(rule::sni_lookup_key("A.Example.COM.", buffer), "a.example.com");
  EXPECT_EQ(rule::sni_lookup_key("a.example.com..", buffer), "a.example.com.");
  EXPECT_EQ(rule::sni_lookup_key(".", buffer), ".");
  EXPECT_EQ(rule::wildcard_suffix_of("a.example.com"), "example.com");
  EXPECT_EQ(rule::wildcard_suffix_of(".example.com"), "");
  EXPECT_EQ(rule::wildcard_suffix_of("localhost"), "");
}

// ---- choices -----------------------------------------------------------------

TEST(RouteIndex, HigherPriorityRestRouteWinsOverAnExactHit) {
  std::vector<Route> routes;
  routes.push_back(make_route("by-alpn", "ALPN(`h2`)", 9, true));
  routes.push_back(make_route("by-name", "HostSNI(`a.example.com`)", 5, true));
  routes.push_back(make_route("wild", "HostSNI(`*.example.com`)", 4, true));
  routes.push_back(make_route("any", "HostSNI(`*`)", -1, true));
  const RouteIndex index = build_route_index(routes);
  Facts f = tls_client("a.example.com");
  EXPECT_EQ(name_of(first_match(index, routes, f)), "by-name");
  const std::array<std::string, 1> h2{"h2"};
  f.alpn = h2;
  EXPECT_EQ(name_of(first_match(index, routes, f)), "by-alpn");
  EXPECT_EQ(name_of(first_match(index, routes, tls_client("B.EXAMPLE.COM."))), "wild");
  EXPECT_EQ(name_of(first_match(index, routes, tls_client("a.b.example.com"))), "any");
  EXPECT_EQ(name_of(first_match(index, routes, tls_client("example.com"))), "any");
  EXPECT_EQ(first_match(index, routes, Facts{}), nullptr);  // a plain client, TLS routes only
}

TEST(RouteIndex, RegexpRoutesTakeTheirTurnByPriority) {
  std::vector<Route> routes;
  routes.push_back(make_route("db-h2", "HostSNIRegexp(`^db-`) && ALPN(`h2`)", 9, true));
  routes.push_back(make_route("exact", "HostSNI(`db-1.example.com`)", 5, true));
  routes.push_back(make_route("db", "HostSNIRegexp(`^db-[0-9]+\\.example\\.com$`)", 4, true));
  routes.push_back(make_route("capital", "HostSNIRegexp(`^DB-`)", 3, true));  // the SNI is lower case: never
  routes.push_back(make_route("tail", "HostSNIRegexp(`example`)", 2, true));
  const RouteIndex index = build_route_index(routes);
  EXPECT_EQ(name_of(first_match(index, routes, tls_client("db-1.example.com"))), "exact");
  EXPECT_EQ(name_of(first_match(index, routes, tls_client("db-2.example.com"))), "db");
  EXPECT_EQ(name_of(first_match(index, routes, tls_client("db-x.example.com"))), "tail");
  EXPECT_EQ(name_of(first_match(index, routes, tls_client("db-x.example.org"))), "tail");
  EXPECT_EQ(name_of(first_match(index, routes, tls_client("db-x.other"))), "(none)");
  const std::array<std::string, 1> h2{"h2"};
  Facts f = tls_client("db-1.example.com");
  f.alpn = h2;
  EXPECT_EQ(name_of(first_match(index, routes, f)), "db-h2");
}

TEST(RouteIndex, ThousandsOfRegexpRoutesInOneSet) {
  std::vector<Route> routes;
  const int n = 9000;
  for (int k = 0; k < n; ++k)
    routes.push_back(make_route("r" + std::to_string(k), "HostSNIRegexp(`^r" + std::to_string(k) + "-[a-z]+\\.test$`)",
                                n - k, true));
  const RouteIndex index = build_route_index(routes);
  const SniTable& tls = index.by_tls[1];
  EXPECT_EQ(tls.regexps.patterns, static_cast<std::size_t>(n));
  EXPECT_EQ(tls.regexps.chunks.size(), 1u);
  EXPECT_EQ(tls.regexps.failed_chunks, 0u);
  for (int k : {0, 1, 4095, 4096, 4097, 8999}) {
    const std::string sni = "r" + std::to_string(k) + "-abc.test";
    EXPECT_EQ(name_of(first_match(index, routes, tls_client(sni))), "r" + std::to_string(k));
    EXPECT_EQ(candidates(index, tls_client(sni)).by_name, (std::vector<std::uint32_t>{static_cast<std::uint32_t>(k)}));
  }
  EXPECT_EQ(first_match(index, routes, tls_client("r9000-abc.test")), nullptr);
  EXPECT_EQ(first_match(index, routes, tls_client("r1-ab1.test")), nullptr);
}

TEST(RouteIndex, MatchWalksWhenTheEntryHasNoIndex) {
  EntryRoutes entry;
  entry.routes.push_back(make_route("a", "HostSNI(`a.example.com`)", 1, true));
  ASSERT_FALSE(entry.index.built);
  EXPECT_EQ(match(entry, tls_client("a.example.com")), &entry.routes[0]);
}

// ---- property: the index and the walk agree ----------------------------------

// Names that hit exact routes, wildcards one and two labels deep, both, or nothing.
const std::vector<std::string> kNames{"a.example.com", "b.example.com", "x.a.example.com", "example.com",
                                      "c.test",        "db.c.test",     "other.org",       "a"};
const std::vector<std::string> kWildcards{"*.example.com", "*.a.example.com", "*.test", "*.c.test", "*"};
// Anchored or not, alternations, a case-insensitive one and one with a capital (which no lower-case name matches).
const std::vector<std::string> kRegexps{"^a\\.",        "example\\.com$", "^[a-z]+\\.test$", "^db\\.", "a|test",
                                        "^(?i)B\\.EXAMPLE", "^X\\.", "\\.org$",          "^.$",     "c\\.test\\z"};
const std::vector<std::string> kRanges{"127.0.0.0/8", "10.0.0.1", "::1", "192.168.0.0/16"};
const std::vector<std::string> kProtocols{"h2", "http/1.1", "postgresql"};

struct Gen {
  std::mt19937 rng;

  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }
  bool coin() { return below(2) == 0; }
  const std::string& pick(const std::vector<std::string>& v) { return v[below(v.size())]; }

  // The same name as a client or a rule may spell it.
  std::string respell(std::string name) {
    if (below(4) == 0)
      for (char& c : name)
        if (c >= 'a' && c <= 'z' && coin()) c = static_cast<char>(c - 'a' + 'A');
    if (below(5) == 0 && name != "*") name += '.';
    return name;
  }

  std::string host_sni() {
    std::string args;
    const std::size_t n = 1 + below(3);
    for (std::size_t i = 0; i < n; ++i) {
      if (i) args += ", ";
      args += "`" + respell(below(3) == 0 ? pick(kWildcards) : pick(kNames)) + "`";
    }
    return "HostSNI(" + args + ")";
  }

  std::string leaf() {
    switch (below(8)) {
      case 0:
      case 7: return "HostSNIRegexp(`" + pick(kRegexps) + "`)";
      case 1: return "ClientIP(`" + pick(kRanges) + "`)";
      case 2: return "ALPN(`" + pick(kProtocols) + "`)";
      default: return host_sni();
    }
  }

  std::string rule_text(int depth) {
    if (depth == 0 || below(3) == 0) return leaf();
    switch (below(4)) {
      case 0: return "!(" + rule_text(depth - 1) + ")";
      case 1: return "(" + rule_text(depth - 1) + " || " + rule_text(depth - 1) + ")";
      default: return "(" + rule_text(depth - 1) + " && " + rule_text(depth - 1) + ")";
    }
  }

  std::vector<Route> routes() {
    std::vector<Route> out;
    const std::size_t n = 1 + below(24);
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(make_route("r" + std::to_string(below(50)), rule_text(3), static_cast<int>(below(4)) - 1, below(4) != 0));
    sort_routes(out);
    return out;
  }

  // What the client said, owned here since Facts holds views.
  struct Client {
    std::string sni;
    std::vector<std::string> alpn;
    std::optional<IpAddress> ip;
    bool tls = false;
    Facts facts() const { return Facts{tls, sni, alpn, ip}; }
  };

  Client client() {
    Client c;
    c.tls = below(4) != 0;
    const std::size_t kind = below(10);
    if (kind < 6) c.sni = respell(pick(kNames));
    else if (kind < 8) c.sni = respell(pick({"y.example.com", "a.b.example.com", "q.test", "nothing.org"}));
    else if (kind == 8) c.sni = pick({".", "a..", ".example.com", "example.com..", "a.example.com.."});
    for (const std::string& p : kProtocols)
      if (below(3) == 0) c.alpn.push_back(p);
    if (below(5) != 0) c.ip = IpAddress::parse(pick({"127.0.0.1", "10.0.0.1", "::1", "192.168.1.1", "8.8.8.8"}));
    return c;
  }
};

TEST(RouteIndex, PicksWhatTheWalkPicksOnRandomRulesAndClients) {
  Gen gen{std::mt19937(20261205)};
  int compared = 0, matched = 0, by_name = 0, by_regexp = 0;
  for (int set = 0; set < 1500; ++set) {
    const std::vector<Route> routes = gen.routes();
    const RouteIndex index = build_route_index(routes);
    for (int c = 0; c < 40; ++c) {
      const Gen::Client client = gen.client();
      const Facts facts = client.facts();
      const Route* expected = walk(routes, facts);
      const Route* got = first_match(index, routes, facts);
      ++compared;
      if (expected != got) {
        std::string rules;
        for (const Route& r : routes)
          rules += "\n  " + r.name + " p=" + std::to_string(r.priority) + (r.tls ? " tls " : " plain ") + r.rule.text;
        FAIL() << "client sni=\"" << client.sni << "\" tls=" << client.tls << ": walk chose " << name_of(expected)
               << ", index chose " << name_of(got)
               << "; routes:" << rules;
      }
      // What explain leaves out of its listing must not be able to take the client.
      const Candidates cands = candidates(index, facts);
      std::vector<bool> listed(routes.size(), false);
      for (std::uint32_t p : cands.by_name) listed[p] = true;
      for (std::uint32_t p : cands.rest) listed[p] = true;
      for (std::size_t p = 0; p < routes.size(); ++p)
        if (!listed[p] && routes[p].tls == facts.tls && rule::match(routes[p].rule, facts))
          FAIL() << "client sni=\"" << client.sni << "\": candidates leave out " << routes[p].name << " ("
                 << routes[p].rule.text << "), which matches";
      if (expected) {
        ++matched;
        const auto keys = rule::sni_keys(expected->rule);
        by_name += keys.has_value();
        by_regexp += keys && !keys->regexps.empty();
      }
    }
  }
  // The generator must exercise both outcomes, and choices made through the name tables.
  EXPECT_GT(matched, compared / 10);
  EXPECT_GT(compared - matched, compared / 10);
  EXPECT_GT(by_name, compared / 20);
  EXPECT_GT(by_regexp, compared / 50);
}

}  // namespace
}  // namespace snigate::session
