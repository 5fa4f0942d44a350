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
  EXPECT_FALSE(keys("HostSNIRegexp(`^a\\.x\\.io$`)").has_value());
  EXPECT_FALSE(keys("HostSNI(`a.x.io`, `*`)").has_value());
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
const std::vector<std::string> kRegexps{"^a\\.", "example\\.com$", "^[a-z]+\\.test$", "^db\\."};
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
      case 0: return "HostSNIRegexp(`" + pick(kRegexps) + "`)";
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
  int compared = 0, matched = 0, by_name = 0;
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
      if (expected) {
        ++matched;
        by_name += rule::sni_keys(expected->rule).has_value();
      }
    }
  }
  // The generator must exercise both outcomes, and choices made through the name tables.
  EXPECT_GT(matched, compared / 10);
  EXPECT_GT(compared - matched, compared / 10);
  EXPECT_GT(by_name, compared / 20);
}

}  // namespace
}  // namespace snigate::session
