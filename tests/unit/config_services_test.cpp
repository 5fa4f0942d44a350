// tcp.services beyond servers: weighted services (children, weights, cycles),
// loadBalancer.healthCheck and passiveHealthCheck, with their errors.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace snigate::config {
namespace {

using test::dump;
using test::one;
using test::TempDir;

using test::expect_error;
constexpr auto load_text = test::load_after_entry;

// Lines 4-9: two load balancers a and b.
const std::string kTwo = R"y(tcp:
  services:
    a:
      loadBalancer: {servers: [{address: "127.0.0.1:1"}]}
    b:
      loadBalancer: {servers: [{address: "127.0.0.1:2"}]}
)y";

TEST(ConfigServices, WeightedChildrenAndDefaults) {
  TempDir dir;
  Loaded l = load_text(dir, kTwo + R"y(    w:
      weighted:
        services:
          - name: a@file
            weight: 3
          - name: b
        healthCheck: {}
)y");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  const Service& w = l.dyn.services.at("w");
  EXPECT_TRUE(w.weighted);
  EXPECT_TRUE(w.weighted_health_check);
  ASSERT_EQ(w.children.size(), 2u);
  EXPECT_EQ(w.children[0].name, "a");  // @file dropped
  EXPECT_EQ(w.children[0].weight, 3);
  EXPECT_EQ(w.children[1].weight, 1);  // Traefik's default
}

TEST(ConfigServices, NestedWeightedIsFine) {
  TempDir dir;
  Loaded l = load_text(dir, kTwo + R"y(    inner:
      weighted: {services: [{name: a}, {name: b}]}
    outer:
      weighted: {services: [{name: inner, weight: 2}, {name: a}]}
)y");
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
}

TEST(ConfigServices, UnknownChildNamesTheKeyAndLine) {
  TempDir dir;
  Loaded l = load_text(dir, kTwo + R"y(    w:
      weighted:
        services:
          - name: a
          - name: bb
)y");
  expect_error(l, "tcp.services.w.weighted.services[1].name", 14, "unknown service \"bb\"");
  EXPECT_NE(one(l.errors, "tcp.services.w.weighted.services[1].name").message.find("did you mean \"b\""),
            std::string::npos);
}

TEST(ConfigServices, CycleIsAnError) {
  TempDir dir;
  Loaded l = load_text(dir, kTwo + R"y(    x:
      weighted:
        services: [{name: a}, {name: y}]
    y:
      weighted:
        services:
          - name: x
)y");
  ASSERT_EQ(l.errors.size(), 1u) << dump(l.errors);
  expect_error(l, "tcp.services.y.weighted.services[0].name", 16, "makes a cycle (x -> y -> x)");
}

TEST(ConfigServices, SelfReferenceIsACycle) {
  TempDir dir;
  Loaded l = load_text(dir, kTwo + R"y(    me:
      weighted: {services: [{name: me}]}
)y");
  expect_error(l, "tcp.services.me.weighted.services[0].name", 11, "(me -> me)");
}

TEST(ConfigServices, WeightedShapeErrors) {
  TempDir dir;
  Loaded l = load_text(dir, kTwo + R"y(    none:
      weighted: {services: []}
    zero:
      weighted: {services: [{name: a, weight: 0}]}
    negative:
      weighted: {services: [{name: a, weight: -1}]}
    noname:
      weighted: {services: [{weight: 2}]}
    both:
      loadBalancer: {servers: [{address: "127.0.0.1:3"}]}
      weighted: {services: [{name: a}]}
    other:
      weighted: {services: [{name: a@docker}]}
)y");
  expect_error(l, "tcp.services.none.weighted.services", 11, "at least one");
  expect_error(l, "tcp.services.zero.weighted.services", 13, "every weight is 0");
  expect_error(l, "tcp.services.negative.weighted.services[0].weight", 15, "must be 0 or more");
  expect_error(l, "tcp.services.noname.weighted.services[0].name", 17, "is required");
  expect_error(l, "tcp.services.both.weighted", 18, "not both");
  expect_error(l, "tcp.services.other.weighted.services[0].name", 22, "snigate's providers are file, etcd and internal");
}

TEST(ConfigServices, HealthCheckKeysAndDefaults) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tcp:
  services:
    db:
      loadBalancer:
        servers: [{address: "127.0.0.1:3306"}]
        healthCheck: {port: 3307, interval: 2s, unhealthyInterval: 500ms, timeout: 1s, protocol: mysql}
        passiveHealthCheck: {failures: 5, downtime: 1m}
    plain:
      loadBalancer:
        servers: [{address: "127.0.0.1:80"}]
)y");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  const Service& db = l.dyn.services.at("db");
  ASSERT_TRUE(db.health_check);
  EXPECT_EQ(db.health_check->port, 3307);
  EXPECT_EQ(db.health_check->interval.count(), 2000);
  EXPECT_EQ(db.health_check->unhealthy_interval->count(), 500);
  EXPECT_EQ(db.health_check->timeout.count(), 1000);
  EXPECT_EQ(db.health_check->protocol, "mysql");
  EXPECT_EQ(db.passive.failures, 5);
  EXPECT_EQ(db.passive.downtime.count(), 60'000);
  const Service& plain = l.dyn.services.at("plain");
  EXPECT_FALSE(plain.health_check);
  EXPECT_EQ(plain.passive.failures, 3);  // passive health is on by default
  EXPECT_EQ(plain.passive.downtime.count(), 10'000);
}

TEST(ConfigServices, HealthCheckErrors) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tcp:
  services:
    s:
      loadBalancer:
        servers: [{address: "127.0.0.1:1"}]
        healthCheck:
          interval: soon
          timeout: 0s
          port: 70000
          protocol: redis
          unhealthyInterval: -1s
        passiveHealthCheck: {failures: -1, downtime: 0s}
    t:
      loadBalancer:
        servers: [{address: "127.0.0.1:1"}]
        healthCheck: {protocol: postgres, send: hello, tls: true}
)y");
  EXPECT_FALSE(one(l.errors, "tcp.services.s.loadBalancer.healthCheck.interval").message.empty());
  expect_error(l, "tcp.services.s.loadBalancer.healthCheck.timeout", 11, "above zero");
  expect_error(l, "tcp.services.s.loadBalancer.healthCheck.port", 12, "not a TCP port");
  expect_error(l, "tcp.services.s.loadBalancer.healthCheck.protocol", 13, "mysql or postgres");
  EXPECT_FALSE(one(l.errors, "tcp.services.s.loadBalancer.healthCheck.unhealthyInterval").message.empty());
  expect_error(l, "tcp.services.s.loadBalancer.passiveHealthCheck.failures", 15, "0 (off) or more");
  expect_error(l, "tcp.services.s.loadBalancer.passiveHealthCheck.downtime", 15, "above zero");
  expect_error(l, "tcp.services.t.loadBalancer.healthCheck.protocol", 19, "cannot be combined with send");
  expect_error(l, "tcp.services.t.loadBalancer.healthCheck.tls", 19, "cannot be combined with protocol");
}

}  // namespace
}  // namespace snigate::config
