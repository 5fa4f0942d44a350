// session/snapshot: compile() of hand-built configurations, and match().
#include <gtest/gtest.h>

#include <openssl/pem.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "rule/ast.hpp"
#include "session/snapshot.hpp"
#include "session_test_client.hpp"

namespace snigate::session {
namespace {

using config::Loc;

// A configuration built by hand, one call per key.
struct Cfg {
  config::Loaded loaded;

  Cfg& entry(const std::string& name, config::Protocol protocol = config::Protocol::tcp) {
    auto& ep = loaded.stat.entry_points[name];
    ep.name = name;
    ep.loc = Loc{"static.yml", 3};
    ep.address = ":8443";
    ep.protocol = protocol;
    return *this;
  }
  Cfg& service(const std::string& name, std::vector<std::string> addresses = {"127.0.0.1:9000"}) {
    auto& s = loaded.dyn.services[name];
    s.name = name;
    s.loc = Loc{"dynamic.yml", 20};
    for (std::size_t i = 0; i < addresses.size(); ++i)
      s.servers.push_back(config::Server{addresses[i], Loc{"dynamic.yml", 21 + static_cast<int>(i)}, false});
    return *this;
  }
  config::Router& router(const std::string& name, const std::string& rule, const std::string& svc = "svc") {
    auto& r = loaded.dyn.routers[name];
    r.name = name;
    r.loc = Loc{"dynamic.yml", 10};
    r.rule = rule;
    r.rule_loc = Loc{"dynamic.yml", 11};
    r.service = svc;
    r.service_loc = Loc{"dynamic.yml", 12};
    return r;
  }
  config::Router& tls_router(const std::string& name, const std::string& rule, const std::string& svc = "svc") {
    auto& r = router(name, rule, svc);
    r.tls = config::RouterTls{};
    return r;
  }
};

std::shared_ptr<const Snapshot> compile_ok(const Cfg& cfg) {
  std::vector<config::Error> errors;
  auto snap = compile(cfg.loaded, errors);
  for (const auto& e : errors) ADD_FAILURE() << e.loc.file << ":" << e.loc.line << ": " << e.path << ": " << e.message;
  EXPECT_NE(snap, nullptr);
  return snap;
}

std::vector<config::Error> compile_errors(const Cfg& cfg) {
  std::vector<config::Error> errors;
  auto snap = compile(cfg.loaded, errors);
  EXPECT_EQ(snap, nullptr);
  EXPECT_FALSE(errors.empty());
  return errors;
}

const config::Error* find_error(const std::vector<config::Error>& errors, const std::string& path) {
  for (const auto& e : errors)
    if (e.path == path) return &e;
  std::string all;
  for (const auto& e : errors) all += "\n  " + e.path + ": " + e.message;
  ADD_FAILURE() << "no error at " << path << "; got:" << all;
  return nullptr;
}

std::vector<std::string> route_names(const EntryRoutes& entry) {
  std::vector<std::string> names;
  for (const auto& r : entry.routes) names.push_back(r.name);
  return names;
}

using test::Client;

std::string matched(const EntryRoutes& entry, const Client& c) {
  const Route* r = match(entry, c.facts());
  return r ? r->name : "(none)";
}

// ---- ordering --------------------------------------------------------------

TEST(SessionSnapshot, XmppAndMailRouters) {
  Cfg xmpp;
  xmpp.entry("x", config::Protocol::xmpp).service("svc");
  xmpp.router("plain", "HostSNI(`*`)");
  const auto errors = compile_errors(xmpp);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "tcp.routers.plain.tls");
  EXPECT_NE(errors[0].message.find("a router of an xmpp entry point (x) needs tls"), std::string::npos);

  Cfg smtp;  // a plain router takes SMTP clients that never start TLS
  smtp.entry("m", config::Protocol::smtp).service("svc");
  smtp.router("plain", "HostSNI(`*`)");
  smtp.tls_router("a", "HostSNI(`a.example`)");
  EXPECT_EQ(compile_ok(smtp)->entry("m")->routes.size(), 2u);

  Cfg whoami;
  whoami.entry("i", config::Protocol::imap);
  whoami.tls_router("w", "HostSNI(`a.example`)", "whoami@internal");
  const auto w = compile_errors(whoami);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].message.find("whoami@internal does not speak imap (entry point i)"), std::string::npos);
}

TEST(SessionSnapshot, RoutesSortedByRuleLengthByDefault) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("short", "HostSNI(`a.io`)");                                   // 15
  cfg.tls_router("long", "HostSNI(`a.example.com`) || HostSNI(`b.example.com`)");  // 51
  cfg.tls_router("middle", "HostSNI(`www.example.com`)");                       // 26
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const EntryRoutes* web = snap->entry("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(route_names(*web), (std::vector<std::string>{"long", "middle", "short"}));
  EXPECT_EQ(web->routes[0].priority, static_cast<int>(cfg.loaded.dyn.routers["long"].rule.size()));
  EXPECT_EQ(web->routes[2].priority, 15);
}

// A reload compiles against the snapshot it replaces: a rule whose text is
// unchanged shares its parsed tree, a changed one is parsed anew, and the
// result matches as a fresh compile would.
TEST(SessionSnapshot, AReloadSharesTheRulesThatDidNotChange) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("same", "HostSNI(`a.example.com`)");
  cfg.tls_router("moved", "HostSNIRegexp(`^b-[0-9]+\\.example\\.com$`)");
  const auto first = compile_ok(cfg);
  ASSERT_NE(first, nullptr);
  cfg.loaded.dyn.routers["moved"].rule = "HostSNIRegexp(`^c-[0-9]+\\.example\\.com$`)";
  std::vector<config::Error> errors;
  config::Dynamic dyn = cfg.loaded.dyn;
  const auto next = compile(cfg.loaded.stat, std::move(dyn), errors, nullptr, first.get());
  ASSERT_NE(next, nullptr);
  auto rule_of = [](const Snapshot& s, const std::string& name) {
    for (const Route& r : s.entry("web")->routes)
      if (r.name == name) return r.rule.root.get();
    return static_cast<const rule::Node*>(nullptr);
  };
  EXPECT_EQ(rule_of(*next, "same"), rule_of(*first, "same"));
  EXPECT_NE(rule_of(*next, "moved"), rule_of(*first, "moved"));
  Facts f;
  f.tls = true;
  f.sni = "c-1.example.com";
  const Route* m = match(*next->entry("web"), f);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->name, "moved");
  f.sni = "b-1.example.com";
  EXPECT_EQ(match(*next->entry("web"), f), nullptr);
}

TEST(SessionSnapshot, ExplicitPriorityWins) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("long", "HostSNI(`a.example.com`) || HostSNI(`b.example.com`)");
  cfg.tls_router("boosted", "HostSNI(`*`)").priority = 1000;
  cfg.tls_router("sunk", "HostSNI(`c.example.com`)").priority = 1;
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(route_names(*snap->entry("web")), (std::vector<std::string>{"boosted", "long", "sunk"}));
  // The catch-all comes first, so it takes even a client asking for a.example.com.
  EXPECT_EQ(matched(*snap->entry("web"), Client{true, "a.example.com"}), "boosted");
}

TEST(SessionSnapshot, TiesBrokenByNameAscending) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("zeta", "HostSNI(`x.io`)");
  cfg.tls_router("alpha", "HostSNI(`*.io`)");
  cfg.tls_router("mid", "HostSNI(`y`)").priority = 15;  // the length of the other two rules
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(route_names(*snap->entry("web")), (std::vector<std::string>{"alpha", "mid", "zeta"}));
  EXPECT_EQ(matched(*snap->entry("web"), Client{true, "x.io"}), "alpha");
}

// Traefik: a router whose rule is a lone HostSNI(`*`) and that sets no
// priority gets -1, so a catch-all never takes a name another router serves,
// even one with a small explicit priority.
TEST(SessionSnapshot, CatchAllWithoutPriorityComesLast) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("any", "HostSNI(`*`)");
  cfg.tls_router("spaced", " ( HostSNI( `*` ) ) ");
  cfg.tls_router("api", "HostSNI(`api.example.com`)").priority = 5;
  cfg.tls_router("neg", "HostSNI(`neg.example.com`)").priority = -5;
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const EntryRoutes& web = *snap->entry("web");
  EXPECT_EQ(route_names(web), (std::vector<std::string>{"api", "any", "spaced", "neg"}));
  EXPECT_EQ(web.routes[1].priority, -1);
  EXPECT_EQ(web.routes[1].priority_from, PriorityFrom::catch_all);
  EXPECT_EQ(matched(web, Client{true, "api.example.com"}), "api");
  EXPECT_EQ(matched(web, Client{true, "other.example.com"}), "any");
  EXPECT_EQ(matched(web, Client{true, "neg.example.com"}), "any") << "an explicit -5 stays below the catch-all's -1";
}

// Traefik reads priority: 0 as "not set".
TEST(SessionSnapshot, PriorityZeroMeansTheDefault) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("any", "HostSNI(`*`)").priority = 0;
  cfg.tls_router("api", "HostSNI(`api.example.com`)").priority = 0;
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const EntryRoutes& web = *snap->entry("web");
  EXPECT_EQ(route_names(web), (std::vector<std::string>{"api", "any"}));
  EXPECT_EQ(web.routes[0].priority, 26);
  EXPECT_EQ(web.routes[0].priority_from, PriorityFrom::rule_length);
  EXPECT_EQ(web.routes[1].priority, -1);
}

// match() goes through the index compile() builds; wildcards and the
// catch-all keep their places in the priority order.
TEST(SessionSnapshot, CompileIndexesTheRoutesThatMatchUses) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("any", "HostSNI(`*`)");
  cfg.tls_router("wild", "HostSNI(`*.example.com`)").priority = 10;
  cfg.tls_router("api", "HostSNI(`api.example.com`)").priority = 20;
  cfg.router("plain", "HostSNI(`*`)");
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const EntryRoutes& web = *snap->entry("web");
  ASSERT_TRUE(web.index.built);
  EXPECT_EQ(web.index.by_tls[1].exact.size(), 1u);
  EXPECT_EQ(web.index.by_tls[1].suffixes.size(), 1u);
  EXPECT_EQ(matched(web, Client{true, "api.example.com"}), "api");
  EXPECT_EQ(matched(web, Client{true, "API.example.com."}), "api");
  EXPECT_EQ(matched(web, Client{true, "b.example.com"}), "wild");
  EXPECT_EQ(matched(web, Client{true, "x.api.example.com"}), "any");
  EXPECT_EQ(matched(web, Client{false}), "plain");
}

// ---- entry points ----------------------------------------------------------

TEST(SessionSnapshot, RouterWithoutEntryPointsIsOnEveryEntryPoint) {
  Cfg cfg;
  cfg.entry("web").entry("db").entry("admin").service("svc");
  cfg.tls_router("everywhere", "HostSNI(`a.example.com`)");
  cfg.tls_router("dbonly", "HostSNI(`db.example.com`)").entry_points = {"db"};
  cfg.tls_router("two", "HostSNI(`two.example.com`)").entry_points = {"web", "admin"};
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  ASSERT_EQ(snap->entries.size(), 3u);
  auto sorted = [](std::vector<std::string> v) {
    std::ranges::sort(v);
    return v;
  };
  EXPECT_EQ(sorted(route_names(*snap->entry("web"))), (std::vector<std::string>{"everywhere", "two"}));
  EXPECT_EQ(sorted(route_names(*snap->entry("db"))), (std::vector<std::string>{"dbonly", "everywhere"}));
  EXPECT_EQ(sorted(route_names(*snap->entry("admin"))), (std::vector<std::string>{"everywhere", "two"}));
  EXPECT_EQ(snap->entry("nope"), nullptr);
  EXPECT_EQ(snap->entry("web")->ep.name, "web");
}

// Traefik: once any entry point is marked asDefault, routers without
// entryPoints attach to the marked ones only.
TEST(SessionSnapshot, RouterWithoutEntryPointsAttachesToAsDefaultEntryPoints) {
  Cfg cfg;
  cfg.entry("web").entry("internal").entry("admin").service("svc");
  cfg.loaded.stat.entry_points["web"].as_default = true;
  cfg.loaded.stat.entry_points["admin"].as_default = true;
  cfg.tls_router("unnamed", "HostSNI(`a.example.com`)");
  cfg.tls_router("inner", "HostSNI(`i.example.com`)").entry_points = {"internal"};
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(route_names(*snap->entry("web")), (std::vector<std::string>{"unnamed"}));
  EXPECT_EQ(route_names(*snap->entry("admin")), (std::vector<std::string>{"unnamed"}));
  EXPECT_EQ(route_names(*snap->entry("internal")), (std::vector<std::string>{"inner"}));
}

// ---- match -----------------------------------------------------------------

TEST(SessionSnapshot, TlsClientsGetTlsRoutersAndPlainClientsTheOthers) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("secure", "HostSNI(`*`)");
  cfg.router("plain", "HostSNI(`*`)");
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const EntryRoutes& web = *snap->entry("web");
  EXPECT_EQ(matched(web, Client{true, "a.example.com"}), "secure");
  EXPECT_EQ(matched(web, Client{true, ""}), "secure");
  EXPECT_EQ(matched(web, Client{false, ""}), "plain");
  const Route* r = match(web, Client{true, "a.example.com"}.facts());
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->tls);
  EXPECT_FALSE(r->passthrough);
  ASSERT_NE(r->options, nullptr);
  EXPECT_EQ(r->options->name, "default");
  ASSERT_NE(r->service, nullptr);
  EXPECT_EQ(r->service->name, "svc");
}

TEST(SessionSnapshot, TlsOnlyEntryPointHasNothingForPlainClients) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("a", "HostSNI(`a.example.com`)");
  cfg.tls_router("b", "HostSNI(`b.example.com`)").tls->passthrough = true;
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const EntryRoutes& web = *snap->entry("web");
  EXPECT_EQ(matched(web, Client{true, "a.example.com"}), "a");
  EXPECT_EQ(matched(web, Client{true, "b.example.com"}), "b");
  EXPECT_EQ(matched(web, Client{true, "c.example.com"}), "(none)");
  EXPECT_EQ(matched(web, Client{false, ""}), "(none)");
  const Route* b = match(web, Client{true, "b.example.com"}.facts());
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->passthrough);
  EXPECT_EQ(b->options, nullptr);  // nothing to terminate
}

TEST(SessionSnapshot, PlainCatchAllTakesASilentClient) {
  Cfg cfg;
  cfg.entry("web").service("svc").service("tcp");
  cfg.tls_router("a", "HostSNI(`a.example.com`)");
  cfg.router("fallback", "HostSNI(`*`)", "tcp");
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const EntryRoutes& web = *snap->entry("web");
  EXPECT_EQ(matched(web, Client{false, ""}), "fallback");
  EXPECT_EQ(matched(web, Client{true, "a.example.com"}), "a");
  EXPECT_EQ(matched(web, Client{true, "zzz.example.com"}), "(none)");
}

// ---- entry point summary ---------------------------------------------------

TEST(SessionSnapshot, ServerFirstOnlyWhenEveryRouterIsAPlainCatchAll) {
  Cfg cfg;
  cfg.entry("only_plain_star").entry("star_and_tls").entry("plain_named").entry("tls_star").entry("empty");
  cfg.service("svc");
  auto on = [](config::Router& r, std::string ep) { r.entry_points = {std::move(ep)}; };
  on(cfg.router("p1", "HostSNI(`*`)"), "only_plain_star");
  cfg.router("p2", "(HostSNI(`*`))").entry_points = {"only_plain_star"};
  on(cfg.router("p3", "HostSNI(`*`)"), "star_and_tls");
  on(cfg.tls_router("t3", "HostSNI(`a.example.com`)"), "star_and_tls");
  on(cfg.router("p4", "HostSNI(`*`) && ClientIP(`10.0.0.0/8`)"), "plain_named");
  on(cfg.tls_router("t5", "HostSNI(`*`)"), "tls_star");
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  EXPECT_TRUE(snap->entry("only_plain_star")->server_first);
  EXPECT_FALSE(snap->entry("star_and_tls")->server_first);
  EXPECT_FALSE(snap->entry("plain_named")->server_first);
  EXPECT_FALSE(snap->entry("tls_star")->server_first);
  EXPECT_FALSE(snap->entry("empty")->server_first);

  EXPECT_FALSE(snap->entry("only_plain_star")->has_tls_routes);
  EXPECT_TRUE(snap->entry("only_plain_star")->has_plain_routes);
  EXPECT_TRUE(snap->entry("star_and_tls")->has_tls_routes);
  EXPECT_TRUE(snap->entry("star_and_tls")->has_plain_routes);
  EXPECT_TRUE(snap->entry("tls_star")->has_tls_routes);
  EXPECT_FALSE(snap->entry("tls_star")->has_plain_routes);
  EXPECT_FALSE(snap->entry("empty")->has_tls_routes);
  EXPECT_FALSE(snap->entry("empty")->has_plain_routes);
}

// ---- errors ----------------------------------------------------------------

TEST(SessionSnapshot, BadRuleNamesRouterAndLocation) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("broken", "Host(`a.example.com`)");
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.routers.broken.rule");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->loc.file, "dynamic.yml");
  EXPECT_EQ(e->loc.line, 11);
  EXPECT_NE(e->message.find("Host(`a.example.com`)"), std::string::npos) << e->message;
  EXPECT_NE(e->message.find("at character"), std::string::npos) << e->message;
}

// Traefik refuses a HostSNIRegexp pattern with a byte outside ASCII; so does
// snigate, naming the router and quoting its rule.
TEST(SessionSnapshot, NonAsciiRegexpNamesRouterAndRule) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("cafe", "HostSNIRegexp(`^caf\xc3\xa9\\.test$`)");
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.routers.cafe.rule");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->loc.line, 11);
  EXPECT_NE(e->message.find("non-ASCII characters are not allowed"), std::string::npos) << e->message;
  EXPECT_NE(e->message.find("of `HostSNIRegexp(`^caf\xc3\xa9\\.test$`)`"), std::string::npos) << e->message;
}

TEST(SessionSnapshot, PlainRouterThatNeedsANameIsRefused) {
  // Without tls a router sees only plain clients: no name, no ALPN.
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.router("named", "HostSNI(`a.example.com`)");
  cfg.router("alpn", "ALPN(`h2`) && HostSNI(`*`)");
  cfg.router("by_ip", "HostSNI(`a.example.com`) || ClientIP(`10.0.0.0/8`)");
  cfg.router("any", "HostSNI(`*`)");
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.routers.named.rule");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->loc.line, 11);
  EXPECT_NE(e->message.find("can never match: a router without tls takes only plain clients"), std::string::npos)
      << e->message;
  EXPECT_NE(find_error(errors, "tcp.routers.alpn.rule"), nullptr);
  EXPECT_EQ(errors.size(), 2u);  // by_ip may match a plain client; any matches every one
}

TEST(SessionSnapshot, RegexpWithCapitalsIsWarned) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("upper", "HostSNIRegexp(`^DB-[0-9]+\\.test$`)");
  cfg.tls_router("lower", "HostSNIRegexp(`^db-[0-9]+\\.test$`)");
  std::vector<config::Error> errors, warnings;
  EXPECT_NE(compile(cfg.loaded, errors, &warnings), nullptr);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].path, "tcp.routers.upper.rule");
  EXPECT_EQ(warnings[0].loc.line, 11);
  EXPECT_NE(warnings[0].message.find("needs a capital letter, but the SNI is compared in lower case"),
            std::string::npos)
      << warnings[0].message;
}

// ---- middlewares -------------------------------------------------------------

TEST(SessionSnapshot, RouteGetsItsMiddlewaresInOrderSharedWithOtherRouters) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  auto& allow = cfg.loaded.dyn.middlewares["office"];
  allow.name = "office";
  allow.kind = config::MiddlewareKind::ip_allow_list;
  allow.source_range = {"10.0.0.0/8", "2001:db8::/32"};
  auto& slots = cfg.loaded.dyn.middlewares["snapshot-test-slots"];
  slots.name = "snapshot-test-slots";
  slots.kind = config::MiddlewareKind::in_flight_conn;
  slots.amount = 3;
  cfg.tls_router("a", "HostSNI(`a.test`)").middlewares = {"snapshot-test-slots", "office@file"};
  cfg.tls_router("b", "HostSNI(`b.test`)").middlewares = {"snapshot-test-slots"};
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const auto& routes = snap->entry("web")->routes;
  const auto a = std::ranges::find_if(routes, [](const Route& r) { return r.name == "a"; });
  const auto b = std::ranges::find_if(routes, [](const Route& r) { return r.name == "b"; });
  ASSERT_TRUE(a != routes.end() && b != routes.end());
  ASSERT_EQ(a->middlewares.size(), 2u);
  EXPECT_EQ(a->middlewares[0]->name, "snapshot-test-slots");
  EXPECT_EQ(a->middlewares[0]->amount, 3);
  EXPECT_EQ(a->middlewares[1]->name, "office");
  EXPECT_EQ(a->middlewares[1]->ranges.size(), 2u);
  ASSERT_EQ(b->middlewares.size(), 1u);
  EXPECT_EQ(b->middlewares[0], a->middlewares[0]) << "one middleware, one count, for every router naming it";
  // A second compile (a reload) shares the counts.
  auto again = compile_ok(cfg);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->middlewares.at("snapshot-test-slots")->in_flight, snap->middlewares.at("snapshot-test-slots")->in_flight);
}

TEST(SessionSnapshot, UnknownService) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  cfg.tls_router("r", "HostSNI(`a.example.com`)", "nope");
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.routers.r.service");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->loc.line, 12);
  EXPECT_NE(e->message.find("\"nope\""), std::string::npos) << e->message;
}

TEST(SessionSnapshot, BadServerAddress) {
  Cfg cfg;
  cfg.entry("web").service("svc", {"127.0.0.1:9000", "no-port-here"});
  cfg.tls_router("r", "HostSNI(`a.example.com`)");
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.services.svc.loadBalancer.servers[1].address");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->loc.line, 22);
  EXPECT_NE(e->message.find("no-port-here"), std::string::npos) << e->message;
}

TEST(SessionSnapshot, UnknownTlsOptions) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  auto& r = cfg.tls_router("r", "HostSNI(`a.example.com`)");
  r.tls->options = "strict";
  r.tls->options_loc = Loc{"dynamic.yml", 14};
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.routers.r.tls.options");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("\"strict\""), std::string::npos) << e->message;
  EXPECT_EQ(e->loc.file, "dynamic.yml");
}

// The error points at the line of the tls.options key, not the router.
TEST(SessionSnapshot, UnknownTlsOptionsPointsAtTheOptionsKey) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  auto& r = cfg.tls_router("r", "HostSNI(`a.example.com`)");
  r.tls->options = "strict";
  r.tls->options_loc = Loc{"dynamic.yml", 14};
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.routers.r.tls.options");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->loc.line, 14);
}

TEST(SessionSnapshot, PassthroughToWhoamiIsAnError) {
  Cfg cfg;
  cfg.entry("web");
  cfg.tls_router("r", "HostSNI(`a.example.com`)", "whoami@internal").tls->passthrough = true;
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.routers.r.service");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("passthrough"), std::string::npos) << e->message;
}

TEST(SessionSnapshot, MysqlEntryPointCompiles) {
  Cfg cfg;
  cfg.entry("db", config::Protocol::mysql).service("svc");
  cfg.tls_router("r", "HostSNI(`a.example.com`)").mysql_allow_plaintext = true;
  const auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const auto* entry = snap->entry("db");
  ASSERT_NE(entry, nullptr);
  ASSERT_EQ(entry->routes.size(), 1u);
  EXPECT_TRUE(entry->routes[0].allow_plaintext);
}

TEST(SessionSnapshot, PostgresEntryPointTakesPassthroughAndTermination) {
  Cfg cfg;
  cfg.entry("db", config::Protocol::postgres).service("svc");
  cfg.tls_router("term", "HostSNI(`a.example.com`)").postgres_allow_plaintext = true;
  cfg.tls_router("pass", "HostSNI(`b.example.com`)").tls->passthrough = true;
  const auto snap = compile_ok(cfg);
  EXPECT_EQ(snap->entry("db")->routes.size(), 2u);
}

TEST(SessionSnapshot, PostgresRouterWithoutTlsIsAnError) {
  Cfg cfg;
  cfg.entry("db", config::Protocol::postgres).service("svc");
  cfg.router("r", "HostSNI(`*`)");
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.routers.r.tls");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("postgres.allowPlaintext"), std::string::npos) << e->message;
}

TEST(SessionSnapshot, PostgresAllowPlaintextNeedsTermination) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  auto& r = cfg.tls_router("pass", "HostSNI(`b.example.com`)");
  r.tls->passthrough = true;
  r.postgres_allow_plaintext = true;
  const auto errors = compile_errors(cfg);
  ASSERT_NE(find_error(errors, "tcp.routers.pass.postgres.allowPlaintext"), nullptr);
}

// A certificate in PEM, good enough as a CA file for clientAuth.caFiles.
std::string some_ca_pem() {
  auto cert = tls::self_signed_cert({"ca.example.com"});
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert->leaf.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return s;
}

// A plaintext client has no certificate to show: a router that lets one in
// cannot also require a client certificate.
TEST(SessionSnapshot, AllowPlaintextWithRequiredClientCertificatesIsAnError) {
  for (const char* auth : {"RequireAndVerifyClientCert", "RequireAnyClientCert"}) {
    Cfg cfg;
    cfg.entry("db", config::Protocol::mysql).service("svc");
    auto& opts = cfg.loaded.dyn.tls_options["mtls"];
    opts.name = "mtls";
    opts.client_auth_type = auth;
    opts.client_ca_files = {some_ca_pem()};
    auto& r = cfg.tls_router("r", "HostSNI(`a.example.com`)");
    r.tls->options = "mtls";
    r.mysql_allow_plaintext = true;
    const auto errors = compile_errors(cfg);
    const auto* e = find_error(errors, "tcp.routers.r.mysql.allowPlaintext");
    ASSERT_NE(e, nullptr);
    EXPECT_NE(e->message.find(auth), std::string::npos) << e->message;
  }
  Cfg ok;
  ok.entry("db", config::Protocol::postgres).service("svc");
  auto& opts = ok.loaded.dyn.tls_options["ask"];
  opts.name = "ask";
  opts.client_auth_type = "VerifyClientCertIfGiven";
  opts.client_ca_files = {some_ca_pem()};
  auto& r = ok.tls_router("r", "HostSNI(`a.example.com`)");
  r.tls->options = "ask";
  r.postgres_allow_plaintext = true;
  compile_ok(ok);
}

TEST(SessionSnapshot, MysqlPassthroughIsAnErrorThatExplains) {
  Cfg cfg;
  cfg.entry("db", config::Protocol::mysql).service("svc");
  cfg.tls_router("r", "HostSNI(`a.example.com`)").tls->passthrough = true;
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.routers.r.tls.passthrough");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("inside snigate's MySQL handshake"), std::string::npos) << e->message;
}

TEST(SessionSnapshot, MysqlRouterWithoutTlsIsAnError) {
  Cfg cfg;
  cfg.entry("db", config::Protocol::mysql).service("svc");
  cfg.router("r", "HostSNI(`a.example.com`)");
  const auto errors = compile_errors(cfg);
  const auto* e = find_error(errors, "tcp.routers.r.tls");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("mysql.allowPlaintext"), std::string::npos) << e->message;
}

TEST(SessionSnapshot, BadTlsOptionsAndCertificatesAreReported) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  auto& o = cfg.loaded.dyn.tls_options["bad"];
  o.name = "bad";
  o.min_version = "VersionSSL3";
  cfg.loaded.dyn.certificates.push_back(config::CertFiles{"/nonexistent/snigate/cert.pem",
                                                          "/nonexistent/snigate/key.pem", Loc{"dynamic.yml", 30}});
  cfg.tls_router("r", "HostSNI(`a.example.com`)").tls->options = "bad";
  const auto errors = compile_errors(cfg);
  EXPECT_NE(find_error(errors, "tls.options.bad.minVersion"), nullptr);
  const auto* e = find_error(errors, "tls.certificates[0]");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("/nonexistent/snigate/cert.pem"), std::string::npos) << e->message;
  // The options exist but failed to build: reported once, under tls.options, not
  // again as unknown under the router.
  for (const auto& err : errors) EXPECT_NE(err.path, "tcp.routers.r.tls.options") << err.message;
}

TEST(SessionSnapshot, ErrorsAreAppendedToEarlierOnes) {
  Cfg cfg;
  cfg.entry("web");
  cfg.tls_router("r", "HostSNI(`a.example.com`)", "nope");
  std::vector<config::Error> errors{config::Error{{}, "earlier", "kept"}};
  EXPECT_EQ(compile(cfg.loaded, errors), nullptr);
  ASSERT_GE(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "earlier");
}

// ---- names -----------------------------------------------------------------

TEST(SessionSnapshot, FileProviderSuffixesResolve) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  auto& o = cfg.loaded.dyn.tls_options["x"];
  o.name = "x";
  o.min_version = "VersionTLS13";
  auto& r = cfg.tls_router("r", "HostSNI(`a.example.com`)", "svc@file");
  r.tls->options = "x@file";
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const Route* route = match(*snap->entry("web"), Client{true, "a.example.com"}.facts());
  ASSERT_NE(route, nullptr);
  ASSERT_NE(route->service, nullptr);
  EXPECT_EQ(route->service->name, "svc");
  ASSERT_NE(route->options, nullptr);
  EXPECT_EQ(route->options->name, "x");
  EXPECT_EQ(SSL_CTX_get_min_proto_version(route->options->ctx.get()), TLS1_3_VERSION);
}

TEST(SessionSnapshot, WhoamiInternalExists) {
  Cfg cfg;
  cfg.entry("web");
  cfg.tls_router("r", "HostSNI(`*`)", "whoami@internal");
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  ASSERT_TRUE(snap->services.contains("whoami@internal"));
  EXPECT_TRUE(snap->services.at("whoami@internal")->whoami);
  const Route* route = match(*snap->entry("web"), Client{true, ""}.facts());
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->service, snap->services.at("whoami@internal").get());
}

TEST(SessionSnapshot, ServicesAndServers) {
  Cfg cfg;
  cfg.entry("web").service("svc", {"127.0.0.1:9000", "[::1]:9001", "db.internal:5432"});
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const Service& svc = *snap->services.at("svc");
  ASSERT_EQ(svc.servers.size(), 3u);
  EXPECT_EQ(svc.servers[1].address, "[::1]:9001");
  EXPECT_EQ(svc.servers[1].at.host, "::1");
  EXPECT_EQ(svc.servers[1].at.port, 9001);
  EXPECT_EQ(svc.servers[2].at.host, "db.internal");
  EXPECT_EQ(svc.backend_tls, nullptr);  // no server re-encrypts
  EXPECT_EQ(svc.dial_timeout, config::Duration(30'000));
  EXPECT_EQ(svc.termination_delay, config::Duration(100));
}

TEST(SessionSnapshot, ServersTransportIsApplied) {
  Cfg cfg;
  cfg.entry("web").service("svc");
  auto& s = cfg.loaded.dyn.services["svc"];
  s.servers_transport = "slow@file";
  s.servers[0].tls = true;
  auto& st = cfg.loaded.dyn.servers_transports["slow"];
  st.name = "slow";
  st.dial_timeout = config::Duration(1234);
  st.termination_delay = config::Duration(-1);
  st.insecure_skip_verify = true;
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const Service& svc = *snap->services.at("svc");
  EXPECT_EQ(svc.dial_timeout, config::Duration(1234));
  EXPECT_EQ(svc.termination_delay, config::Duration(-1));
  EXPECT_EQ(svc.keep_alive, config::Duration(15'000)) << "Traefik's default dialKeepAlive";
  ASSERT_NE(svc.backend_tls, nullptr);
  EXPECT_FALSE(svc.backend_tls->verify);
}

// ---- certificates ----------------------------------------------------------

TEST(SessionSnapshot, DefaultCertificateIsSelfSignedAndSurvivesReload) {
  Cfg cfg;
  cfg.entry("web");
  cfg.tls_router("r", "HostSNI(`*`)", "whoami@internal");
  auto first = compile_ok(cfg);
  auto second = compile_ok(cfg);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_NE(first->certs.fallback, nullptr);
  EXPECT_EQ(first->certs.fallback->origin, "self-signed");
  EXPECT_EQ(X509_check_private_key(first->certs.fallback->leaf.get(), first->certs.fallback->key.get()), 1);
  EXPECT_EQ(first->certs.fallback.get(), second->certs.fallback.get());
  EXPECT_NE(first->generation, second->generation);
  const tls::CertChoice c = first->certs.select("anything.example.com");
  EXPECT_EQ(c.cert, first->certs.fallback.get());
  EXPECT_EQ(c.how, tls::CertMatch::fallback);
  // The default options exist even when not configured.
  ASSERT_TRUE(first->options.contains("default"));
}

TEST(SessionSnapshot, ConfiguredCertificatesAreSelected) {
  auto cert = tls::self_signed_cert({"a.example.com"});
  auto pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return s;
  };
  const std::string crt = pem([&](BIO* b) { PEM_write_bio_X509(b, cert->leaf.get()); });
  const std::string key =
      pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, cert->key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  Cfg cfg;
  cfg.entry("web");
  cfg.loaded.dyn.certificates.push_back(config::CertFiles{crt, key, Loc{"dynamic.yml", 40}});
  cfg.loaded.dyn.default_certificate = config::CertFiles{crt, key, Loc{"dynamic.yml", 50}};
  auto snap = compile_ok(cfg);
  ASSERT_NE(snap, nullptr);
  const tls::CertChoice c = snap->certs.select("a.example.com");
  ASSERT_NE(c.cert, nullptr);
  EXPECT_EQ(c.how, tls::CertMatch::exact);
  EXPECT_EQ(X509_cmp(c.cert->leaf.get(), cert->leaf.get()), 0);
  ASSERT_NE(snap->certs.fallback, nullptr);
  EXPECT_EQ(snap->certs.fallback->origin, "inline certificate");
}

}  // namespace
}  // namespace snigate::session
