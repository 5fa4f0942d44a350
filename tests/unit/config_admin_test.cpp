// api, metrics.prometheus, ping and the entry point that serves them.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

using namespace snigate::config;
using namespace snigate::config::test;

TEST(ConfigAdmin, InsecureApiMakesTheTraefikEntryPointOnLoopback) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", "entryPoints:\n  web: {address: \":443\"}\napi: {insecure: true, basePath: /gw}\n"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  ASSERT_EQ(l.stat.entry_points.count("traefik"), 1u);
  EXPECT_EQ(l.stat.entry_points.at("traefik").address, "127.0.0.1:8080");
  EXPECT_TRUE(l.stat.entry_points.at("traefik").admin);
  EXPECT_FALSE(l.stat.entry_points.at("web").admin);
  EXPECT_EQ(l.stat.api->base_path, "/gw/");
  EXPECT_TRUE(l.stat.api->dashboard);
}

TEST(ConfigAdmin, MetricsAndPingOnANamedEntryPoint) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(entryPoints:
  web: {address: ":443"}
  ops: {address: "127.0.0.1:9100"}
metrics:
  prometheus: {entryPoint: ops, buckets: [0.01, 0.5], addRoutersLabels: true}
ping: {entryPoint: ops}
)y"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.stat.entry_points.at("ops").admin);
  EXPECT_EQ(l.stat.entry_points.count("traefik"), 0u);
  EXPECT_EQ(l.stat.prometheus->buckets, (std::vector<double>{0.01, 0.5}));
  EXPECT_TRUE(l.stat.prometheus->add_routers_labels);
}

TEST(ConfigAdmin, ErrorsNameTheKey) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(entryPoints:
  web: {address: ":443"}
  ops: {address: "127.0.0.1:9100", proxyProtocol: {insecure: true}}
metrics:
  prometheus: {entryPoint: opz, buckets: [1, 0.5], manualRouting: true}
ping: {entryPoint: ops}
api: {insecure: true, basePath: "no-slash"}
)y"));
  EXPECT_EQ(one(l.errors, "metrics.prometheus.entryPoint").message, "no entry point named \"opz\"; did you mean \"ops\"?");
  EXPECT_EQ(one(l.errors, "metrics.prometheus.buckets[1]").loc.line, 5);
  EXPECT_TRUE(has(l.errors, "metrics.prometheus.manualRouting", "no HTTP routers"));
  EXPECT_TRUE(has(l.errors, "entryPoints.ops.proxyProtocol", "does not read PROXY headers"));
  EXPECT_TRUE(has(l.errors, "api.basePath", "must be a path"));
}

TEST(ConfigAdmin, RoutersStayOffTheAdminEntryPoint) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(entryPoints:
  web: {address: ":443"}
api: {insecure: true}
tcp:
  routers:
    r: {rule: "HostSNI(`*`)", service: whoami@internal, entryPoints: [traefik]}
)y"));
  EXPECT_TRUE(has(l.errors, "tcp.routers.r.entryPoints[0]", "carries no TCP routers"));
}

TEST(ConfigAdmin, ARouterThatNoEntryPointWouldTakeIsAnError) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(entryPoints:
  web: {address: ":443"}
metrics:
  prometheus: {entryPoint: web}
tcp:
  routers:
    r: {rule: "HostSNI(`*`)", service: whoami@internal, tls: {}}
)y"));
  EXPECT_TRUE(has(l.errors, "tcp.routers.r", "no entry point would take it"));
}

TEST(ConfigAdmin, MessagesNameWhatIsServed) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", "entryPoints:\n  ops: {address: \":9100\", protocol: mysql}\nping: {entryPoint: ops}\n"));
  EXPECT_TRUE(has(l.errors, "entryPoints.ops.protocol", "serves /ping over HTTP (ping.entryPoint)"));
}
