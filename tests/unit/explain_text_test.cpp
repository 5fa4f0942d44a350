// explain: the text printer gives what `snigate explain` printed before the
// logic moved into src/explain (each expected text below is that command's
// output for the same configuration and query), and the exit codes.
#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "explain/explain.hpp"
#include "explain/json.hpp"
#include "explain/text.hpp"

namespace snigate::explain {
namespace {

constexpr const char* kConfig = R"yaml(
entryPoints:
  web: {address: "127.0.0.1:18443"}
  other: {address: "127.0.0.1:18444"}
tcp:
  routers:
    db: {entryPoints: [web], rule: "HostSNI(`db.test`) && ClientIP(`10.0.0.0/8`)", service: lb, tls: {passthrough: true}, middlewares: [lan, few]}
    catch: {entryPoints: [web], rule: "HostSNI(`*`)", service: split, tls: {passthrough: true}, priority: 1}
    plain: {entryPoints: [other], rule: "HostSNI(`*`)", service: lb}
  middlewares:
    lan: {ipAllowList: {sourceRange: ["10.1.0.0/16"]}}
    few: {inFlightConn: {amount: 2}}
  services:
    lb: {loadBalancer: {servers: [{address: "127.0.0.1:9"}, {address: "127.0.0.1:10"}]}}
    lb2: {loadBalancer: {servers: [{address: "127.0.0.1:11"}], healthCheck: {interval: 5s}}}
    split: {weighted: {services: [{name: lb, weight: 3}, {name: lb2, weight: 1}]}}
)yaml";

constexpr const char* kLb =
    "service lb: load balancer, round robin over 2 server(s)\n"
    "  passive health: out for 10000 ms after 3 failed connection(s) in a row\n"
    "  -> 127.0.0.1:9: up\n"
    "     127.0.0.1:10: up\n"
    "  next: 127.0.0.1:9 (its round-robin turn)\n";

class ExplainText : public ::testing::Test {
 protected:
  void SetUp() override {
    config::Loaded cfg = config::load(dir_.write("snigate.yaml", kConfig));
    ASSERT_TRUE(cfg.errors.empty()) << config::test::dump(cfg.errors);
    std::vector<config::Error> errors;
    snap_ = session::compile(cfg, errors);
    ASSERT_NE(snap_, nullptr) << config::test::dump(errors);
  }
  Result run(Query q) { return explain(*snap_, q); }

  config::test::TempDir dir_;
  std::shared_ptr<const session::Snapshot> snap_;
};

TEST_F(ExplainText, AMatchWithMiddlewaresAndItsService) {
  const Result r = run({"web", false, "DB.test", {}, "10.1.2.3", ""});
  EXPECT_EQ(exit_code(r), 0);
  EXPECT_EQ(to_text(r),
            std::string("entry point web (127.0.0.1:18443): TLS client, SNI \"db.test\", ALPN [], client IP 10.1.2.3\n"
                        "match: db  rule HostSNI(`db.test`) && ClientIP(`10.0.0.0/8`)  priority 44 (rule length)  -> "
                        "service lb (TLS passthrough)\n"
                        "  no: catch  rule HostSNI(`*`)  priority 1 (set): would match, but router db comes first\n"
                        "middlewares of db, in order:\n"
                        "  lan (ipAllowList): 10.1.2.3 is allowed\n"
                        "  few (inFlightConn): at most 2 open connections per client IP\n") +
                kLb);
}

TEST_F(ExplainText, RefusedByAnAllowList) {
  const Result r = run({"web", false, "db.test", {}, "10.2.0.1", ""});
  EXPECT_EQ(exit_code(r), 1);
  EXPECT_EQ(to_text(r),
            "entry point web (127.0.0.1:18443): TLS client, SNI \"db.test\", ALPN [], client IP 10.2.0.1\n"
            "match: db  rule HostSNI(`db.test`) && ClientIP(`10.0.0.0/8`)  priority 44 (rule length)  -> "
            "service lb (TLS passthrough)\n"
            "  no: catch  rule HostSNI(`*`)  priority 1 (set): would match, but router db comes first\n"
            "middlewares of db, in order:\n"
            "  lan (ipAllowList): 10.2.0.1 is NOT in the list\n"
            "  few (inFlightConn): at most 2 open connections per client IP\n"
            "REFUSED: router db: middleware lan (ipAllowList) does not allow 10.2.0.1\n");
  const nlohmann::ordered_json j = to_json(r);
  EXPECT_EQ(j["outcome"], "refusedByMiddleware");
  EXPECT_EQ(j["router"]["middlewares"][0]["refuses"], true);
  EXPECT_EQ(j["text"], to_text(r));
}

TEST_F(ExplainText, AWeightedServiceChoice) {
  const Result r = run({"web", false, "x.test", {"h2", "http/1.1"}, "", ""});
  EXPECT_EQ(exit_code(r), 0);
  EXPECT_EQ(to_text(r),
            std::string("entry point web (127.0.0.1:18443): TLS client, SNI \"x.test\", ALPN [h2,http/1.1], client IP any\n"
                        "  no: db  rule HostSNI(`db.test`) && ClientIP(`10.0.0.0/8`)  priority 44 (rule length): "
                        "HostSNI(`db.test`) does not match SNI \"x.test\"\n"
                        "match: catch  rule HostSNI(`*`)  priority 1 (set)  -> service split (TLS passthrough)\n"
                        "service split: weighted (smooth weighted round robin)\n"
                        "  -> lb weight 3\n"
                        "     lb2 weight 1\n") +
                kLb);
  const nlohmann::ordered_json j = to_json(r);
  EXPECT_EQ(j["router"]["service"], "split@file");
  EXPECT_EQ(j["router"]["servers"].size(), 3u) << "lb's two and lb2's one";
  EXPECT_EQ(j["router"]["serviceChoice"][0], "service split: weighted (smooth weighted round robin)");
}

TEST_F(ExplainText, NoRouterAndAServerFirstEntryPoint) {
  Result r = run({"web", true, "", {}, "", ""});
  EXPECT_EQ(exit_code(r), 1);
  EXPECT_EQ(to_text(r),
            "entry point web (127.0.0.1:18443): plain client, SNI none, ALPN [], client IP any\n"
            "  no: db  rule HostSNI(`db.test`) && ClientIP(`10.0.0.0/8`)  priority 44 (rule length): is for TLS clients\n"
            "  no: catch  rule HostSNI(`*`)  priority 1 (set): is for TLS clients\n"
            "no router matches: no route on entry point web for plain client; router db (HostSNI(`db.test`) && "
            "ClientIP(`10.0.0.0/8`)): is for TLS clients; router catch (HostSNI(`*`)): is for TLS clients; the client "
            "did not start TLS and no router here accepts plain TCP (add a router without tls, rule HostSNI(`*`))\n");
  r = run({"other", true, "", {}, "", ""});
  EXPECT_EQ(exit_code(r), 0);
  EXPECT_EQ(to_text(r),
            std::string("entry point other (127.0.0.1:18444): plain client, SNI none, ALPN [], client IP any\n"
                        "every router here is a plain HostSNI(`*`): nothing is read, so every client (a TLS one too) "
                        "goes to the first of them and its backend is connected as soon as the client arrives\n"
                        "match: plain  rule HostSNI(`*`)  priority -1 (default for HostSNI(`*`))  -> service lb "
                        "(plain TCP)\n") +
                kLb);
}

TEST_F(ExplainText, BadQueries) {
  Result r = run({"", false, "a", {}, "", ""});
  EXPECT_EQ(exit_code(r), 2);
  EXPECT_EQ(to_text(r), "--entrypoint is needed: this configuration has 2 entry points (other, web)\n");
  r = run({"web", false, "", {}, "nope", ""});
  EXPECT_EQ(exit_code(r), 2);
  EXPECT_EQ(to_text(r), "--client-ip: \"nope\" is not an IP address\n");
}

}  // namespace
}  // namespace snigate::explain
