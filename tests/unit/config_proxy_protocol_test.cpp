// PROXY protocol settings: entryPoints.<n>.proxyProtocol (in), and
// serversTransports' and the deprecated loadBalancer's proxyProtocol (out).
// A setting that decides whose address a connection has is never accepted
// and ignored.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace snigate::config {
namespace {

using test::has;
using test::one;
using test::TempDir;

TEST(ConfigProxyProtocol, EntryPointTrustedIpsAndInsecure) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(entryPoints:
  a:
    address: ":443"
    proxyProtocol:
      trustedIPs: ["127.0.0.2", "10.0.0.0/8", "2001:db8::/32"]
  b:
    address: ":444"
    proxyProtocol: {insecure: true}
  c:
    address: ":445"
)y"));
  ASSERT_TRUE(l.errors.empty()) << test::dump(l.errors);
  const auto& a = l.stat.entry_points.at("a").proxy_protocol;
  ASSERT_TRUE(a);
  EXPECT_EQ(a->trusted_ips, (std::vector<std::string>{"127.0.0.2", "10.0.0.0/8", "2001:db8::/32"}));
  EXPECT_FALSE(a->insecure);
  EXPECT_TRUE(l.stat.entry_points.at("b").proxy_protocol->insecure);
  EXPECT_FALSE(l.stat.entry_points.at("c").proxy_protocol);
}

TEST(ConfigProxyProtocol, EntryPointThatTrustsNoOneOrABadRangeIsAnError) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(entryPoints:
  a:
    address: ":443"
    proxyProtocol: {}
  b:
    address: ":444"
    proxyProtocol:
      trustedIPs: []
  c:
    address: ":445"
    proxyProtocol:
      trustedIPs: ["10.0.0.0/8", "10.0.0.300", "fe80::/129"]
  d:
    address: ":446"
    proxyProtocol:
      trustedIps: ["10.0.0.1"]
      versions: 2
)y"));
  EXPECT_EQ(one(l.errors, "entryPoints.a.proxyProtocol.trustedIPs").loc.line, 4);
  EXPECT_TRUE(has(l.errors, "entryPoints.a.proxyProtocol.trustedIPs", "trusts no one"));
  EXPECT_EQ(one(l.errors, "entryPoints.b.proxyProtocol.trustedIPs").loc.line, 8);
  EXPECT_EQ(one(l.errors, "entryPoints.c.proxyProtocol.trustedIPs[1]").loc.line, 12);
  EXPECT_EQ(one(l.errors, "entryPoints.c.proxyProtocol.trustedIPs[2]").loc.line, 12);
  EXPECT_TRUE(has(l.errors, "entryPoints.d.proxyProtocol.versions", ""));
  EXPECT_EQ(l.errors.size(), 5u) << test::dump(l.errors);
}

TEST(ConfigProxyProtocol, ServersTransportAndDeprecatedLoadBalancer) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(tcp:
  serversTransports:
    two: {proxyProtocol: {}}
    one: {proxyProtocol: {version: 1}}
    none: {}
  services:
    old:
      loadBalancer:
        proxyProtocol: {version: 1}
        serversTransport: two
        servers: [{address: "127.0.0.1:1"}]
)y"));
  ASSERT_TRUE(l.errors.empty()) << test::dump(l.errors);
  EXPECT_EQ(l.dyn.servers_transports.at("two").proxy_protocol_version, 2);
  EXPECT_EQ(l.dyn.servers_transports.at("one").proxy_protocol_version, 1);
  EXPECT_EQ(l.dyn.servers_transports.at("none").proxy_protocol_version, 0);
  EXPECT_EQ(l.dyn.services.at("old").proxy_protocol_version, 1);
  EXPECT_EQ(one(l.warnings, "tcp.services.old.loadBalancer.proxyProtocol").loc.line, 12);
  EXPECT_TRUE(has(l.warnings, "tcp.services.old.loadBalancer.proxyProtocol", "deprecated"));
}

TEST(ConfigProxyProtocol, OnlyVersionsOneAndTwo) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(tcp:
  serversTransports:
    t: {proxyProtocol: {version: 3}}
  services:
    s:
      loadBalancer:
        proxyProtocol: {version: 0}
        servers: [{address: "127.0.0.1:1"}]
)y"));
  EXPECT_EQ(one(l.errors, "tcp.serversTransports.t.proxyProtocol.version").loc.line, 6);
  EXPECT_TRUE(has(l.errors, "tcp.serversTransports.t.proxyProtocol.version", "use 1 or 2"));
  EXPECT_EQ(one(l.errors, "tcp.services.s.loadBalancer.proxyProtocol.version").loc.line, 10);
}

}  // namespace
}  // namespace snigate::config
