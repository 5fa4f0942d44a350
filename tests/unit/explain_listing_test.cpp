// explain on an entry point with many routers: the chosen one, the route
// index's candidates and the routers it cannot rule out are listed, the others
// counted by reason; --all (Query::all) lists every one.
#include <gtest/gtest.h>

#include <string>

#include "config_test_util.hpp"
#include "explain/explain.hpp"
#include "explain/json.hpp"
#include "explain/text.hpp"

namespace snigate::explain {
namespace {

constexpr int kNamed = 25;  // routers hK.test

std::string config_text() {
  std::string routers;
  for (int k = 0; k < kNamed; ++k)
    routers += "    h" + std::to_string(k) + ": {rule: \"HostSNI(`h" + std::to_string(k) +
               ".test`)\", service: lb, tls: {passthrough: true}, priority: 10}\n";
  return R"yaml(
entryPoints:
  web: {address: "127.0.0.1:18443"}
tcp:
  routers:
)yaml" + routers + R"yaml(
    wild: {rule: "HostSNI(`*.test`)", service: lb, tls: {passthrough: true}, priority: 3}
    wild2: {rule: "HostSNI(`*.example.com`)", service: lb, tls: {passthrough: true}, priority: 3}
    rx: {rule: "HostSNIRegexp(`^h[0-9]+\\.test$`)", service: lb, tls: {passthrough: true}, priority: 5}
    rx2: {rule: "HostSNIRegexp(`^db-`) || HostSNI(`db.example.com`)", service: lb, tls: {passthrough: true}, priority: 5}
    h2only: {rule: "ALPN(`h2`)", service: lb, tls: {passthrough: true}, priority: 20}
    plain: {rule: "HostSNI(`*`)", service: lb}
  services:
    lb: {loadBalancer: {servers: [{address: "127.0.0.1:9"}]}}
)yaml";
}

class ExplainListing : public ::testing::Test {
 protected:
  void SetUp() override {
    config::Loaded cfg = config::load(dir_.write("snigate.yaml", config_text()));
    ASSERT_TRUE(cfg.errors.empty()) << config::test::dump(cfg.errors);
    std::vector<config::Error> errors;
    snap_ = session::compile(cfg, errors);
    ASSERT_NE(snap_, nullptr) << config::test::dump(errors);
  }
  Result run(const std::string& sni, bool all = false) {
    Query q;
    q.entry_point = "web";
    q.sni = sni;
    q.all = all;
    return explain(*snap_, q);
  }

  // The lines of the answer about routers (from "match:" and "  no:").
  static std::string router_lines(const std::string& text) {
    std::string out;
    std::size_t at = 0;
    while (at < text.size()) {
      const std::size_t nl = text.find('\n', at);
      const std::string line = text.substr(at, nl - at);
      if (line.starts_with("match:") || line.starts_with("  no:") || line.starts_with("  (")) out += line + "\n";
      at = nl == std::string::npos ? text.size() : nl + 1;
    }
    return out;
  }

  config::test::TempDir dir_;
  std::shared_ptr<const session::Snapshot> snap_;
};

TEST_F(ExplainListing, ListsTheCandidatesAndCountsTheOthers) {
  const Result r = run("h3.test");
  EXPECT_EQ(exit_code(r), 0);
  EXPECT_EQ(router_lines(to_text(r)),
            "  no: h2only  rule ALPN(`h2`)  priority 20 (set): ALPN(`h2`) does not match: the client offered no ALPN protocols\n"
            "match: h3  rule HostSNI(`h3.test`)  priority 10 (set)  -> service lb (TLS passthrough)\n"
            "  no: rx  rule HostSNIRegexp(`^h[0-9]+\\.test$`)  priority 5 (set): would match, but router h3 comes first\n"
            "  no: wild  rule HostSNI(`*.test`)  priority 3 (set): would match, but router h3 comes first\n"
            "  no: 24 TLS routers whose HostSNI names do not match SNI \"h3.test\"\n"
            "  no: 1 TLS router whose HostSNI names and HostSNIRegexp patterns do not match SNI \"h3.test\"\n"
            "  no: 1 TLS router whose HostSNI wildcards do not match SNI \"h3.test\"\n"
            "  no: 1 router for plain (non-TLS) clients\n"
            "  (31 routers in all; --all lists every one)\n");
  EXPECT_EQ(r.router_count, 31u);
  const nlohmann::ordered_json j = to_json(r);
  EXPECT_EQ(j["others"].size(), 3u);
  ASSERT_EQ(j["unlisted"].size(), 4u);
  EXPECT_EQ(j["unlisted"][0]["count"], 24);
  EXPECT_EQ(j["routerCount"], 31);
}

TEST_F(ExplainListing, AllListsEveryRouter) {
  const Result r = run("h3.test", true);
  EXPECT_TRUE(r.unlisted.empty());
  ASSERT_EQ(r.routers.size(), 31u);
  const std::string lines = router_lines(to_text(r));
  EXPECT_NE(lines.find("  no: h24  rule HostSNI(`h24.test`)  priority 10 (set): HostSNI(`h24.test`) does not match "
                       "SNI \"h3.test\"\n"),
            std::string::npos);
  EXPECT_NE(lines.find("  no: plain  rule HostSNI(`*`)  priority -1 (default for HostSNI(`*`)): is for plain (non-TLS) "
                       "clients\n"),
            std::string::npos);
  EXPECT_EQ(lines.find("routers in all"), std::string::npos);
}

TEST_F(ExplainListing, ANameNoRouterHasAndNoNameAtAll) {
  Result r = run("db-1.example.com");
  EXPECT_EQ(exit_code(r), 0);
  EXPECT_EQ(router_lines(to_text(r)),
            "  no: h2only  rule ALPN(`h2`)  priority 20 (set): ALPN(`h2`) does not match: the client offered no ALPN protocols\n"
            "match: rx2  rule HostSNIRegexp(`^db-`) || HostSNI(`db.example.com`)  priority 5 (set)  -> service lb (TLS "
            "passthrough)\n"
            "  no: wild2  rule HostSNI(`*.example.com`)  priority 3 (set): would match, but router rx2 comes first\n"
            "  no: 25 TLS routers whose HostSNI names do not match SNI \"db-1.example.com\"\n"
            "  no: 1 TLS router whose HostSNIRegexp patterns do not match SNI \"db-1.example.com\"\n"
            "  no: 1 TLS router whose HostSNI wildcards do not match SNI \"db-1.example.com\"\n"
            "  no: 1 router for plain (non-TLS) clients\n"
            "  (31 routers in all; --all lists every one)\n");
  r = run("");
  EXPECT_EQ(exit_code(r), 1);
  const std::string lines = router_lines(to_text(r));
  EXPECT_NE(lines.find("  no: 29 TLS routers that need a server name; the client sent none\n"), std::string::npos)
      << lines;
  EXPECT_NE(lines.find("  no: h2only "), std::string::npos) << lines;
}

TEST_F(ExplainListing, APlainClientSeesThePlainRouterAndCountsTheTlsOnes) {
  Query q;
  q.entry_point = "web";
  q.plain = true;
  const Result r = explain(*snap_, q);
  EXPECT_EQ(exit_code(r), 0);
  EXPECT_EQ(router_lines(to_text(r)),
            "match: plain  rule HostSNI(`*`)  priority -1 (default for HostSNI(`*`))  -> service lb (plain TCP)\n"
            "  no: 30 routers for TLS clients\n"
            "  (31 routers in all; --all lists every one)\n");
}

}  // namespace
}  // namespace snigate::explain
