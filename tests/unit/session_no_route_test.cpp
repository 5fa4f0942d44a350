// session/no_route: explain_no_route, the words an operator reads when no
// router took a client.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "session/no_route.hpp"
#include "session_test_client.hpp"

namespace snigate::session {
namespace {

using test::Client;

struct Router {
  std::string name;
  std::string rule;
  bool tls = true;
};

// One entry point "websecure" with these routers, all to whoami@internal.
std::shared_ptr<const Snapshot> snapshot(const std::vector<Router>& routers) {
  config::Loaded cfg;
  auto& ep = cfg.stat.entry_points["websecure"];
  ep.name = "websecure";
  ep.address = ":8443";
  for (const auto& r : routers) {
    auto& router = cfg.dyn.routers[r.name];
    router.name = r.name;
    router.rule = r.rule;
    router.service = "whoami@internal";
    if (r.tls) router.tls = config::RouterTls{};
  }
  std::vector<config::Error> errors;
  auto snap = compile(cfg, errors);
  for (const auto& e : errors) ADD_FAILURE() << e.path << ": " << e.message;
  return snap;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// explain_no_route is only ever called when match() found nothing; make sure
// each test is such a case.
std::string explain(const Snapshot& snap, const Client& c) {
  const EntryRoutes& entry = *snap.entry("websecure");
  EXPECT_EQ(match(entry, c.facts()), nullptr) << "the client has a route";
  return explain_no_route(entry, c.facts());
}

const std::vector<Router> kByName = {
    {"app", "HostSNI(`app.example.com`)"},
    {"db", "HostSNI(`db.example.com`) && ClientIP(`10.0.0.0/8`)"},
};

TEST(SessionRefuse, NamesEntryPointSniAndEveryRouter) {
  auto snap = snapshot(kByName);
  ASSERT_NE(snap, nullptr);
  const std::string why = explain(*snap, Client{true, "other.example.com", {"h2", "http/1.1"}});
  EXPECT_TRUE(has(why, "entry point websecure")) << why;
  EXPECT_TRUE(has(why, "TLS client 192.0.2.7")) << why;
  EXPECT_TRUE(has(why, "SNI \"other.example.com\"")) << why;
  EXPECT_TRUE(has(why, "ALPN [h2,http/1.1]")) << why;
  EXPECT_TRUE(has(why, "router app (HostSNI(`app.example.com`)): ")) << why;
  EXPECT_TRUE(has(why, "router db (HostSNI(`db.example.com`) && ClientIP(`10.0.0.0/8`)): ")) << why;
  EXPECT_TRUE(has(why, "app.example.com")) << why;
  // A client with a name gets no hint about sending one.
  EXPECT_FALSE(has(why, "-servername")) << why;
  EXPECT_FALSE(has(why, "no SNI")) << why;
}

TEST(SessionRefuse, EachRouterSaysWhyItDidNotMatch) {
  auto snap = snapshot(kByName);
  ASSERT_NE(snap, nullptr);
  // db's name matches, its ClientIP does not: the reason must name ClientIP.
  const std::string why = explain(*snap, Client{true, "db.example.com"});
  const auto db = why.find("router db");
  ASSERT_NE(db, std::string::npos) << why;
  const std::string db_part = why.substr(db);
  EXPECT_TRUE(has(db_part, "ClientIP")) << why;
  EXPECT_TRUE(has(db_part, "192.0.2.7")) << why;
  const auto app = why.find("router app");
  ASSERT_NE(app, std::string::npos) << why;
  EXPECT_TRUE(has(why.substr(app, db > app ? db - app : std::string::npos), "db.example.com")) << why;
}

TEST(SessionRefuse, PastTwentyRoutersNamesOnlyTheCandidatesAndCountsTheOthers) {
  std::vector<Router> routers;
  for (int k = 0; k < 30; ++k) routers.push_back({"h" + std::to_string(k), "HostSNI(`h" + std::to_string(k) + ".test`)"});
  routers.push_back({"db", "HostSNIRegexp(`^db-[0-9]+\\.test$`) && ClientIP(`10.0.0.0/8`)"});
  routers.push_back({"by-alpn", "ALPN(`h2`)"});
  routers.push_back({"plain", "HostSNI(`*`)", false});
  auto snap = snapshot(routers);
  ASSERT_NE(snap, nullptr);
  const std::string why = explain(*snap, Client{true, "db-7.test", {"http/1.1"}});
  EXPECT_TRUE(has(why, "; router db (")) << why;
  EXPECT_TRUE(has(why, "; router by-alpn (ALPN(`h2`)): ")) << why;
  EXPECT_FALSE(has(why, "router h1 ")) << why;
  EXPECT_FALSE(has(why, "router plain ")) << why;
  EXPECT_TRUE(has(why, "; 31 other router(s) cannot take it: they are for plain clients, or their names rule out SNI "
                       "\"db-7.test\"")) << why;
}

TEST(SessionRefuse, NoSniHintForTlsClientWithoutSni) {
  auto snap = snapshot(kByName);
  ASSERT_NE(snap, nullptr);
  const std::string why = explain(*snap, Client{true, ""});
  EXPECT_TRUE(has(why, "SNI none")) << why;
  EXPECT_TRUE(has(why, "sent no SNI")) << why;
  EXPECT_TRUE(has(why, "-servername")) << why;
  EXPECT_TRUE(has(why, "--sni")) << why;
}

TEST(SessionRefuse, NoSniHintOnlyWhenRoutersRouteByName) {
  auto snap = snapshot({{"internal", "ClientIP(`10.0.0.0/8`)"}});
  ASSERT_NE(snap, nullptr);
  const std::string why = explain(*snap, Client{true, ""});
  EXPECT_TRUE(has(why, "SNI none")) << why;
  EXPECT_TRUE(has(why, "router internal")) << why;
  EXPECT_FALSE(has(why, "-servername")) << why;
  EXPECT_FALSE(has(why, "--sni")) << why;
}

TEST(SessionRefuse, PlainClientOnTlsOnlyEntryPoint) {
  auto snap = snapshot(kByName);
  ASSERT_NE(snap, nullptr);
  const std::string why = explain(*snap, Client{false, ""});
  EXPECT_TRUE(has(why, "plain client 192.0.2.7")) << why;
  EXPECT_FALSE(has(why, ", SNI ")) << why;  // a plain client has none to report
  EXPECT_FALSE(has(why, "ALPN")) << why;
  EXPECT_TRUE(has(why, "router app (HostSNI(`app.example.com`)): is for TLS clients")) << why;
  EXPECT_TRUE(has(why, "did not start TLS")) << why;
  EXPECT_TRUE(has(why, "HostSNI(`*`)")) << why;
  EXPECT_FALSE(has(why, "-servername")) << why;
}

TEST(SessionRefuse, PlainHintOnlyWithoutPlainRouters) {
  auto snap = snapshot({{"app", "HostSNI(`app.example.com`)"}, {"ops", "ClientIP(`10.0.0.0/8`)", false}});
  ASSERT_NE(snap, nullptr);
  const std::string why = explain(*snap, Client{false, ""});
  EXPECT_TRUE(has(why, "router ops (ClientIP(`10.0.0.0/8`)): ")) << why;
  EXPECT_TRUE(has(why, "192.0.2.7")) << why;
  EXPECT_FALSE(has(why, "did not start TLS")) << why;
}

TEST(SessionRefuse, TlsClientOnPlainRouter) {
  auto snap = snapshot({{"plain", "HostSNI(`*`)", false}});
  ASSERT_NE(snap, nullptr);
  const std::string why = explain(*snap, Client{true, "a.example.com"});
  EXPECT_TRUE(has(why, "router plain (HostSNI(`*`)): is for plain (non-TLS) clients")) << why;
  EXPECT_FALSE(has(why, "did not start TLS")) << why;
}

TEST(SessionRefuse, EntryPointWithoutRouters) {
  auto snap = snapshot({});
  ASSERT_NE(snap, nullptr);
  const std::string why = explain(*snap, Client{true, "a.example.com"});
  EXPECT_TRUE(has(why, "entry point websecure")) << why;
  EXPECT_TRUE(has(why, "has no routers")) << why;
}

TEST(SessionRefuse, UnknownClientAddress) {
  auto snap = snapshot(kByName);
  ASSERT_NE(snap, nullptr);
  Client c{true, "x.example.com"};
  Facts f = c.facts();
  f.client_ip.reset();
  const std::string why = explain_no_route(*snap->entry("websecure"), f);
  // Without an address the text still reads (whether it shows a placeholder
  // or nothing for the address is the module's choice).
  EXPECT_TRUE(has(why, "for TLS client")) << why;
  EXPECT_TRUE(has(why, "SNI \"x.example.com\"")) << why;
  EXPECT_FALSE(has(why, "192.0.2.7")) << why;
}

TEST(SessionRefuse, AlpnListsAreCommaJoined) {
  using Names = std::vector<std::string>;
  EXPECT_EQ(comma_joined(Names{}), "");
  EXPECT_EQ(comma_joined(Names{"h2"}), "h2");
  EXPECT_EQ(comma_joined(Names{"h2", "http/1.1", "postgresql"}), "h2,http/1.1,postgresql");
}

}  // namespace
}  // namespace snigate::session
