// admin/api: the /api answers for a configuration loaded from YAML, as
// Traefik's tools and the dashboard read them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "admin/api.hpp"
#include "config_test_util.hpp"
#include "explain/explain.hpp"
#include "explain/text.hpp"
#include "observe/refusals.hpp"

namespace snigate::admin {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"yaml(
entryPoints:
  web: {address: "127.0.0.1:18443"}
  other: {address: "127.0.0.1:18444"}
tcp:
  routers:
    db: {entryPoints: [web], rule: "HostSNI(`db.example.test`)", service: db, tls: {passthrough: true}, middlewares: [lan]}
    app: {entryPoints: [web], rule: "HostSNI(`app.example.test`)", service: split, tls: {passthrough: true}}
    api: {entryPoints: [web], rule: "HostSNI(`api.example.test`)", service: db, tls: {passthrough: true}}
    plain: {entryPoints: [other], rule: "HostSNI(`*`)", service: db}
  middlewares:
    lan: {ipAllowList: {sourceRange: ["127.0.0.1/32", "10.0.0.0/8"]}}
  services:
    db: {loadBalancer: {servers: [{address: "127.0.0.1:9"}]}}
    spare: {loadBalancer: {servers: [{address: "127.0.0.1:10"}]}}
    split: {weighted: {services: [{name: db, weight: 3}, {name: spare, weight: 1}]}}
)yaml";

class AdminApi : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = dir_.write("snigate.yaml", kConfig);
    config::Loaded cfg = config::load(path);
    ASSERT_TRUE(cfg.errors.empty()) << config::test::dump(cfg.errors);
    std::vector<config::Error> errors;
    snap_ = session::compile(cfg, errors);
    ASSERT_NE(snap_, nullptr) << config::test::dump(errors);
    state_.stat = cfg.stat;
    state_.version = "0.1.0";
    state_.started = std::chrono::system_clock::time_point(std::chrono::seconds(1'796'000'000));
    state_.snapshot = [this] { return snap_; };
  }

  Response get(const std::string& path, std::vector<std::pair<std::string, std::string>> query = {}) {
    const auto r = api_get(Request{"GET", path, std::move(query)}, state_);
    EXPECT_TRUE(r.has_value()) << path;
    return r.value_or(Response{});
  }
  // The answer's JSON, after checking its status.
  json body(const std::string& path, std::vector<std::pair<std::string, std::string>> query = {}, int status = 200) {
    const Response r = get(path, std::move(query));
    EXPECT_EQ(r.status, status) << path << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }
  static std::string header(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return "(absent)";
  }
  static std::vector<std::string> names(const json& list) {
    std::vector<std::string> out;
    for (const json& j : list) out.push_back(j.at("name"));
    return out;
  }

  config::test::TempDir dir_;
  std::shared_ptr<const session::Snapshot> snap_;
  State state_;
};

TEST_F(AdminApi, VersionAndOverview) {
  const json v = body("/api/version");
  EXPECT_EQ(v["Version"], "0.1.0");
  EXPECT_EQ(v["Codename"], "snigate");
  EXPECT_EQ(v["startDate"].get<std::string>().substr(0, 19), "2026-11-30T00:53:20");
  const json o = body("/api/overview");
  EXPECT_EQ(o["tcp"]["routers"]["total"], 4);
  EXPECT_EQ(o["tcp"]["routers"]["errors"], 0);
  EXPECT_EQ(o["tcp"]["services"]["total"], 3);
  EXPECT_EQ(o["tcp"]["middlewares"]["total"], 1);
  EXPECT_EQ(o["http"]["routers"]["total"], 0);
  EXPECT_EQ(o["udp"]["services"]["total"], 0);
  EXPECT_EQ(o["features"]["metrics"], "");
  EXPECT_EQ(o["providers"], json::array({"File"}));
}

TEST_F(AdminApi, RoutersInTraefiksShape) {
  const json list = body("/api/tcp/routers");
  EXPECT_EQ(names(list), (std::vector<std::string>{"api@file", "app@file", "db@file", "plain@file"}));
  const json db = body("/api/tcp/routers/db@file");
  EXPECT_EQ(db["rule"], "HostSNI(`db.example.test`)");
  EXPECT_EQ(db["service"], "db@file");
  EXPECT_EQ(db["entryPoints"], json::array({"web"}));
  EXPECT_EQ(db["using"], json::array({"web"}));
  EXPECT_EQ(db["status"], "enabled");
  EXPECT_EQ(db["provider"], "file");
  EXPECT_EQ(db["ruleSyntax"], "v3");
  EXPECT_EQ(db["priority"], 26);
  EXPECT_EQ(db["tls"]["passthrough"], true);
  EXPECT_EQ(db["middlewares"], json::array({"lan@file"}));
  EXPECT_FALSE(body("/api/tcp/routers/plain@file").contains("tls"));
}

TEST_F(AdminApi, UnknownNamesAre404WithAMessage) {
  EXPECT_EQ(body("/api/tcp/routers/db", {}, 404)["message"], "router not found: db");
  EXPECT_EQ(body("/api/tcp/services/nope@file", {}, 404)["message"], "service not found: nope@file");
  EXPECT_EQ(body("/api/tcp/middlewares/x@file", {}, 404)["message"], "middleware not found: x@file");
  EXPECT_EQ(body("/api/entrypoints/nope", {}, 404)["message"], "entry point not found: nope");
}

TEST_F(AdminApi, PagesWithNextPageHeader) {
  Response r = get("/api/tcp/routers", {{"per_page", "3"}});
  EXPECT_EQ(names(json::parse(r.body)), (std::vector<std::string>{"api@file", "app@file", "db@file"}));
  EXPECT_EQ(header(r, "X-Next-Page"), "2");
  r = get("/api/tcp/routers", {{"per_page", "3"}, {"page", "2"}});
  EXPECT_EQ(names(json::parse(r.body)), (std::vector<std::string>{"plain@file"}));
  EXPECT_EQ(header(r, "X-Next-Page"), "1");
  r = get("/api/tcp/routers", {{"per_page", "2"}, {"page", "2"}});
  EXPECT_EQ(header(r, "X-Next-Page"), "1");
  EXPECT_EQ(body("/api/tcp/routers", {{"per_page", "2"}, {"page", "3"}}, 400)["message"],
            "invalid request: page: 3, per_page: 2");
  body("/api/tcp/routers", {{"per_page", "0"}}, 400);
  body("/api/tcp/routers", {{"page", "x"}}, 400);
  body("/api/tcp/routers", {{"page", "99999999999999999999999"}}, 400);
  body("/api/tcp/routers", {{"page", "18446744073709551615"}, {"per_page", "18446744073709551615"}}, 400);
  EXPECT_EQ(header(get("/api/tcp/routers"), "X-Next-Page"), "1");
}

TEST_F(AdminApi, SearchesNameAndRuleAndFiltersStatus) {
  EXPECT_EQ(names(body("/api/tcp/routers", {{"search", "DB"}})), (std::vector<std::string>{"db@file"}));
  EXPECT_EQ(names(body("/api/tcp/routers", {{"search", "app.example"}})), (std::vector<std::string>{"app@file"}));
  EXPECT_EQ(body("/api/tcp/routers", {{"status", "disabled"}}).size(), 0u);
  EXPECT_EQ(body("/api/tcp/routers", {{"status", "Enabled"}}).size(), 4u);
  EXPECT_EQ(names(body("/api/tcp/routers", {{"serviceName", "split@file"}})), (std::vector<std::string>{"app@file"}));
  EXPECT_EQ(names(body("/api/tcp/routers", {{"middlewareName", "lan@file"}})), (std::vector<std::string>{"db@file"}));
  EXPECT_EQ(names(body("/api/tcp/services", {{"search", "sp"}})), (std::vector<std::string>{"spare@file", "split@file"}));
}

TEST_F(AdminApi, ServicesWithServerStatusAndUsers) {
  const json db = body("/api/tcp/services/db@file");
  EXPECT_EQ(db["type"], "loadbalancer");
  EXPECT_EQ(db["loadBalancer"]["servers"][0]["address"], "127.0.0.1:9");
  EXPECT_EQ(db["serverStatus"]["127.0.0.1:9"], "UP");
  // app reaches db through the weighted service split.
  EXPECT_EQ(db["usedBy"], json::array({"api@file", "app@file", "db@file", "plain@file"}));
  const json split = body("/api/tcp/services/split@file");
  EXPECT_EQ(split["type"], "weighted");
  EXPECT_EQ(split["weighted"]["services"][0], json({{"name", "db@file"}, {"weight", 3}}));
  EXPECT_EQ(split["usedBy"], json::array({"app@file"}));
  EXPECT_EQ(body("/api/tcp/services/spare@file")["usedBy"], json::array({"app@file"}));
}

TEST_F(AdminApi, MiddlewaresEntryPointsAndEmptyKinds) {
  const json lan = body("/api/tcp/middlewares/lan@file");
  EXPECT_EQ(lan["type"], "ipallowlist");
  EXPECT_EQ(lan["ipAllowList"]["sourceRange"], json::array({"127.0.0.1/32", "10.0.0.0/8"}));
  EXPECT_EQ(lan["usedBy"], json::array({"db@file"}));
  const json eps = body("/api/entrypoints");
  EXPECT_EQ(names(eps), (std::vector<std::string>{"other", "web"}));
  EXPECT_EQ(body("/api/entrypoints/web")["address"], "127.0.0.1:18443");
  EXPECT_EQ(body("/api/entrypoints/web")["transport"]["lifeCycle"]["graceTimeOut"], "10s");
  for (const char* p : {"/api/http/routers", "/api/http/services", "/api/http/middlewares", "/api/udp/routers",
                        "/api/udp/services"})
    EXPECT_EQ(body(p), json::array()) << p;
  const json raw = body("/api/rawdata");
  EXPECT_EQ(raw["tcpRouters"]["db@file"]["service"], "db@file");
  EXPECT_TRUE(raw["tcpServices"].contains("split@file"));
  EXPECT_TRUE(raw["tcpMiddlewares"].contains("lan@file"));
}

TEST_F(AdminApi, PathsThatAreNotTheApisOwn) {
  for (const char* p : {"/api/stats", "/api/nope", "/dashboard/", "/metrics", "/api", "/apix/version"})
    EXPECT_FALSE(api_get(Request{"GET", p, {}}, state_).has_value()) << p;
}

TEST_F(AdminApi, ExplainAMatch) {
  const json j = body("/api/explain", {{"entrypoint", "web"}, {"sni", "DB.example.test"}, {"clientIP", "10.1.2.3"}});
  EXPECT_EQ(j["outcome"], "match");
  EXPECT_EQ(j["router"]["name"], "db@file");
  EXPECT_EQ(j["router"]["mode"], "passthrough");
  EXPECT_EQ(j["router"]["service"], "db@file");
  EXPECT_EQ(j["router"]["middlewares"][0]["name"], "lan@file");
  EXPECT_EQ(j["router"]["middlewares"][0]["refuses"], false);
  EXPECT_EQ(j["router"]["servers"][0], json({{"address", "127.0.0.1:9"}, {"status", "UP"}}));
  EXPECT_EQ(j["client"]["sni"], "db.example.test");
  EXPECT_EQ(j["others"].size(), 2u);
  EXPECT_EQ(j["refusal"], nullptr);
  // The text is the CLI's, byte for byte.
  explain::Query q{"web", false, "DB.example.test", {}, "10.1.2.3", ""};
  EXPECT_EQ(j["text"], explain::to_text(explain::explain(*snap_, q)));
}

TEST_F(AdminApi, ExplainRefusalsAndBadQueries) {
  const json none = body("/api/explain", {{"entrypoint", "web"}, {"sni", "x.test"}, {"alpn", "h2,http/1.1"}});
  EXPECT_EQ(none["outcome"], "noMatch");
  EXPECT_EQ(none["router"], nullptr);
  EXPECT_EQ(none["query"]["alpn"], json::array({"h2", "http/1.1"}));
  EXPECT_EQ(none["others"].size(), 3u);
  EXPECT_NE(none["others"][0]["why"].get<std::string>().find("does not match SNI \"x.test\""), std::string::npos);
  EXPECT_NE(none["text"].get<std::string>().find("no router matches: "), std::string::npos);
  const json denied = body("/api/explain", {{"entrypoint", "web"}, {"sni", "db.example.test"}, {"clientIP", "192.0.2.1"}});
  EXPECT_EQ(denied["outcome"], "refusedByMiddleware");
  EXPECT_EQ(denied["refusal"], "router db: middleware lan (ipAllowList) does not allow 192.0.2.1");
  EXPECT_EQ(body("/api/explain", {{"sni", "a.test"}}, 400)["message"],
            "--entrypoint is needed: this configuration has 2 entry points (other, web)");
  EXPECT_EQ(body("/api/explain", {{"entrypoint", "web"}, {"clientIP", "nope"}}, 400)["message"],
            "--client-ip: \"nope\" is not an IP address");
  body("/api/explain", {{"entrypoint", "other"}, {"plain", "maybe"}}, 400);
  EXPECT_EQ(body("/api/explain", {{"entrypoint", "web"}, {"all", "maybe"}}, 400)["message"],
            "all: \"maybe\" is not true or false");
  // Few routers: every one is listed, with or without `all`, and none counted.
  const json all = body("/api/explain", {{"entrypoint", "web"}, {"sni", "x.test"}, {"all", "true"}});
  EXPECT_EQ(all["others"].size(), 3u);
  EXPECT_EQ(all["unlisted"], json::array());
  EXPECT_EQ(all["routerCount"], 3);
  EXPECT_EQ(body("/api/explain", {{"entrypoint", "other"}, {"plain", "true"}})["router"]["name"], "plain@file");
}

TEST_F(AdminApi, ClientChosenTextIsEscaped) {
  const std::string sni = "a\"b\\c\x01\n</script>\xff";
  const Response r = get("/api/explain", {{"entrypoint", "web"}, {"sni", sni}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find('\x01'), std::string::npos);
  EXPECT_EQ(r.body.find('\n'), r.body.size() - 1) << "only the final newline is raw";
  EXPECT_NE(r.body.find(R"(a\"b\\c\u0001\n</script>)"), std::string::npos) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["query"]["sni"], "a\"b\\c\x01\n</script>\xef\xbf\xbd") << "invalid UTF-8 becomes U+FFFD";
  const json missing = body("/api/tcp/routers/\xff\"", {}, 404);
  EXPECT_EQ(missing["message"], "router not found: \xef\xbf\xbd\"");
}

TEST_F(AdminApi, ConnectionsFromTheRegistry) {
  std::size_t asked = 0;
  state_.connections = [&](std::size_t limit, std::size_t& total) {
    asked = limit;
    total = 7;
    observe::OpenConnection c{"web", "127.0.0.1:5000", "db.example.test", "passthrough", "db", "db", "127.0.0.1:9",
                              10, 20, std::chrono::system_clock::now() - std::chrono::seconds(3)};
    return std::vector<observe::OpenConnection>{c, c};
  };
  json j = body("/api/connections");
  EXPECT_EQ(asked, 100u);
  EXPECT_EQ(j["total"], 7);
  ASSERT_EQ(j["connections"].size(), 2u);
  EXPECT_EQ(j["connections"][0]["sni"], "db.example.test");
  EXPECT_EQ(j["connections"][0]["bytesOut"], 20);
  EXPECT_EQ(j["connections"][0]["router"], "db@file");
  EXPECT_GE(j["connections"][0]["ageSeconds"].get<double>(), 3.0);
  body("/api/connections", {{"limit", "5000"}});
  EXPECT_EQ(asked, 1000u);
  body("/api/connections", {{"limit", "-1"}}, 400);
}

TEST_F(AdminApi, RefusalsNewestFirst) {
  observe::AccessRecord rec;
  rec.start = std::chrono::system_clock::now();
  rec.entry_point = "web";
  rec.client = "127.0.0.1:4000";
  rec.sni = "first.test";
  rec.end = "no_route";
  rec.detail = "no router matches";
  observe::remember_refusal(rec);
  rec.sni = "second\x01.test";
  observe::remember_refusal(rec);
  const json j = body("/api/refusals", {{"limit", "2"}});
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["sni"], "second\x01.test");
  EXPECT_EQ(j[1]["sni"], "first.test");
  EXPECT_EQ(j[1]["end"], "no_route");
  EXPECT_EQ(j[1]["entryPoint"], "web");
  body("/api/refusals", {{"limit", "zero"}}, 400);
}

}  // namespace
}  // namespace snigate::admin
