// The connection timeouts an entry point and a router set: tcpIdleTimeout and
// a router's idleTimeout, Traefik's readTimeout read as clientHelloTimeout,
// respondingTimeouts.idleTimeout ignored, requestAcceptGraceTimeout.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace snigate::config {
namespace {

using test::dump;
using test::has;
using test::one;
using test::TempDir;

Loaded load_entry(const TempDir& dir, const std::string& entry_keys, const std::string& router_keys = "") {
  return load(dir.write("s.yml", "entryPoints:\n  web:\n    address: \":443\"\n" + entry_keys +
                                     "tcp:\n  routers:\n    r:\n      rule: \"HostSNI(`*`)\"\n"
                                     "      service: whoami@internal\n" +
                                     router_keys));
}

TEST(ConfigTimeouts, DefaultsAreOneHourIdleAndNoAcceptGrace) {
  TempDir dir;
  Loaded l = load_entry(dir, "");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);
  const EntryPoint& ep = l.stat.entry_points.at("web");
  EXPECT_EQ(ep.tcp_idle_timeout, Duration(3'600'000));
  EXPECT_EQ(ep.client_hello_timeout, Duration(5'000));
  EXPECT_EQ(ep.accept_grace_timeout, Duration(0));
  EXPECT_FALSE(l.dyn.routers.at("r").idle_timeout.has_value());
}

TEST(ConfigTimeouts, TcpIdleTimeoutAndRouterOverride) {
  TempDir dir;
  Loaded l = load_entry(dir, "    tcpIdleTimeout: 10m\n", "      idleTimeout: 2h\n");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);
  EXPECT_EQ(l.stat.entry_points.at("web").tcp_idle_timeout, Duration(600'000));
  EXPECT_EQ(l.dyn.routers.at("r").idle_timeout, Duration(7'200'000));
}

TEST(ConfigTimeouts, ZeroMeansNoIdleLimit) {
  TempDir dir;
  Loaded l = load_entry(dir, "    tcpIdleTimeout: 0\n", "      idleTimeout: 0s\n");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.stat.entry_points.at("web").tcp_idle_timeout, Duration(0));
  ASSERT_TRUE(l.dyn.routers.at("r").idle_timeout.has_value());
  EXPECT_EQ(*l.dyn.routers.at("r").idle_timeout, Duration(0));
}

TEST(ConfigTimeouts, NegativeOrBadIdleTimeoutsAreErrors) {
  TempDir dir;
  Loaded l = load_entry(dir, "    tcpIdleTimeout: -1s\n", "      idleTimeout: soon\n");
  EXPECT_TRUE(has(l.errors, "entryPoints.web.tcpIdleTimeout", "must not be negative")) << dump(l.errors);
  EXPECT_TRUE(has(l.errors, "tcp.routers.r.idleTimeout", "bad duration")) << dump(l.errors);
}

// Traefik's HTTP keep-alive timeout no longer cuts TCP connections.
TEST(ConfigTimeouts, RespondingIdleTimeoutIsIgnoredWithAWarningNamingTcpIdleTimeout) {
  TempDir dir;
  Loaded l = load_entry(dir, "    transport:\n      respondingTimeouts:\n        idleTimeout: 1s\n");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  const Error w = one(l.warnings, "entryPoints.web.transport.respondingTimeouts.idleTimeout");
  EXPECT_EQ(w.message.rfind("ignored: ", 0), 0u) << w.to_string();
  EXPECT_NE(w.message.find("HTTP keep-alive"), std::string::npos) << w.to_string();
  EXPECT_NE(w.message.find("tcpIdleTimeout"), std::string::npos) << w.to_string();
  EXPECT_EQ(l.stat.entry_points.at("web").tcp_idle_timeout, Duration(3'600'000));
}

TEST(ConfigTimeouts, ReadTimeoutSetsTheClientHelloDeadline) {
  TempDir dir;
  Loaded l = load_entry(dir, "    transport:\n      respondingTimeouts:\n        readTimeout: 2s\n");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);
  EXPECT_EQ(l.stat.entry_points.at("web").client_hello_timeout, Duration(2'000));
}

TEST(ConfigTimeouts, ReadTimeoutAndClientHelloTimeoutMayAgree) {
  TempDir dir;
  Loaded l = load_entry(dir, "    clientHelloTimeout: 3s\n    transport:\n      respondingTimeouts:\n        readTimeout: 3000ms\n");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);
  EXPECT_EQ(l.stat.entry_points.at("web").client_hello_timeout, Duration(3'000));
}

TEST(ConfigTimeouts, ReadTimeoutAndClientHelloTimeoutThatDifferAreAnError) {
  TempDir dir;
  // The order in the file does not matter.
  Loaded l = load_entry(dir, "    transport:\n      respondingTimeouts:\n        readTimeout: 60s\n    clientHelloTimeout: 5s\n");
  const Error e = one(l.errors, "entryPoints.web.transport.respondingTimeouts.readTimeout");
  EXPECT_EQ(e.loc.line, 6);
  EXPECT_NE(e.message.find("readTimeout (60s)"), std::string::npos) << e.to_string();
  EXPECT_NE(e.message.find("clientHelloTimeout (5s)"), std::string::npos) << e.to_string();
}

// Traefik's 0 (no deadline) is not followed: a silent client would be held
// forever before routing.
TEST(ConfigTimeouts, ReadTimeoutZeroKeepsTheDeadlineWithAWarning) {
  TempDir dir;
  Loaded l = load_entry(dir, "    transport:\n      respondingTimeouts:\n        readTimeout: 0\n");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  const Error w = one(l.warnings, "entryPoints.web.transport.respondingTimeouts.readTimeout");
  EXPECT_NE(w.message.find("clientHelloTimeout (5000 ms"), std::string::npos) << w.to_string();
  EXPECT_NE(w.message.find("no deadline"), std::string::npos) << w.to_string();
  EXPECT_EQ(l.stat.entry_points.at("web").client_hello_timeout, Duration(5'000));

  TempDir dir2;
  Loaded l2 = load_entry(dir2, "    clientHelloTimeout: 2s\n    transport:\n      respondingTimeouts:\n        readTimeout: 0s\n");
  ASSERT_TRUE(l2.errors.empty()) << dump(l2.errors);
  EXPECT_TRUE(has(l2.warnings, "entryPoints.web.transport.respondingTimeouts.readTimeout", "clientHelloTimeout (2000 ms)"))
      << dump(l2.warnings);
  EXPECT_EQ(l2.stat.entry_points.at("web").client_hello_timeout, Duration(2'000));
}

TEST(ConfigTimeouts, RequestAcceptGraceTimeoutIsRead) {
  TempDir dir;
  Loaded l = load_entry(dir, "    transport:\n      lifeCycle:\n        requestAcceptGraceTimeout: 5s\n        graceTimeOut: 2s\n");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);
  EXPECT_EQ(l.stat.entry_points.at("web").accept_grace_timeout, Duration(5'000));
  EXPECT_EQ(l.stat.entry_points.at("web").grace_timeout, Duration(2'000));
}

}  // namespace
}  // namespace snigate::config
