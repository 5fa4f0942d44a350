// tcp.middlewares and routers' middlewares: what loads, and every error with
// its line and key path.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace snigate::config {
namespace {

using test::dump;
using test::has;
using test::one;
using test::TempDir;

using test::expect_error;
constexpr auto load_text = test::load_after_entry;

TEST(ConfigMiddlewares, EveryKindLoadsWithDefaults) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tcp:
  middlewares:
    office:
      ipAllowList:
        sourceRange: [10.0.0.0/8, "192.0.2.7", "2001:db8::/32"]
    two-each:
      inFlightConn:
        amount: 2
    none:
      inFlightConn: {amount: 0}
    slow:
      rateLimit:
        average: 5
    bursty:
      rateLimit: {average: 10, burst: 30, period: 1m}
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: whoami@internal
      middlewares: [office, two-each@file, slow]
      tls: {}
)y");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);
  const Middleware& office = l.dyn.middlewares.at("office");
  EXPECT_EQ(office.kind, MiddlewareKind::ip_allow_list);
  EXPECT_EQ(office.source_range.size(), 3u);
  EXPECT_EQ(office.loc.line, 6);
  EXPECT_EQ(l.dyn.middlewares.at("two-each").amount, 2);
  EXPECT_EQ(l.dyn.middlewares.at("none").kind, MiddlewareKind::in_flight_conn);
  EXPECT_EQ(l.dyn.middlewares.at("none").amount, 0);
  const Middleware& slow = l.dyn.middlewares.at("slow");
  EXPECT_EQ(slow.kind, MiddlewareKind::rate_limit);
  EXPECT_EQ(slow.average, 5);
  EXPECT_EQ(slow.burst, 5) << "burst defaults to average";
  EXPECT_EQ(slow.period, Duration(1000));
  const Middleware& bursty = l.dyn.middlewares.at("bursty");
  EXPECT_EQ(bursty.burst, 30);
  EXPECT_EQ(bursty.period, Duration(60'000));
  const Router& r = l.dyn.routers.at("r");
  EXPECT_EQ(r.middlewares, (std::vector<std::string>{"office", "two-each", "slow"}));
  ASSERT_EQ(r.middleware_locs.size(), 3u);
  EXPECT_EQ(r.middleware_locs[1].line, 23);
}

TEST(ConfigMiddlewares, AllowListErrors) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tcp:
  middlewares:
    empty:
      ipAllowList:
        sourceRange: []
    bad:
      ipAllowList:
        sourceRange:
          - 10.0.0.0/8
          - 10.0.0.300
          - "2001:db8::/129"
    missing:
      ipAllowList: {}
)y");
  expect_error(l, "tcp.middlewares.empty.ipAllowList.sourceRange", 8, "must not be empty");
  expect_error(l, "tcp.middlewares.bad.ipAllowList.sourceRange[1]", 13, "not an IP address or CIDR block");
  expect_error(l, "tcp.middlewares.bad.ipAllowList.sourceRange[2]", 14, "longer than 128 bits");
  expect_error(l, "tcp.middlewares.missing.ipAllowList.sourceRange", 16, "is required");
  EXPECT_EQ(l.errors.size(), 4u) << dump(l.errors);
}

TEST(ConfigMiddlewares, TypeErrors) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tcp:
  middlewares:
    none: {}
    both:
      ipAllowList: {sourceRange: [10.0.0.0/8]}
      inFlightConn: {amount: 1}
    typo:
      ipAlowList: {sourceRange: [10.0.0.0/8]}
    http:
      basicAuth: {users: [a]}
)y");
  expect_error(l, "tcp.middlewares.none", 6, "has no type");
  expect_error(l, "tcp.middlewares.both", 7, "has 2 types (ipAllowList, inFlightConn)");
  expect_error(l, "tcp.middlewares.typo.ipAlowList", 11, "did you mean \"ipAllowList\"");
  expect_error(l, "tcp.middlewares.http.basicAuth", 13, "unknown key");
  // A middleware whose only key is unknown has no type either.
  EXPECT_TRUE(has(l.errors, "tcp.middlewares.typo", "has no type")) << dump(l.errors);
}

TEST(ConfigMiddlewares, CountErrors) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tcp:
  middlewares:
    negative:
      inFlightConn: {amount: -1}
    missing:
      inFlightConn: {}
    rate:
      rateLimit: {average: -5, period: 0s}
    zero-burst:
      rateLimit: {average: 5, burst: 0}
    off:
      rateLimit: {average: 0}
)y");
  expect_error(l, "tcp.middlewares.negative.inFlightConn.amount", 7, "must not be negative");
  expect_error(l, "tcp.middlewares.missing.inFlightConn.amount", 9, "is required");
  expect_error(l, "tcp.middlewares.rate.rateLimit.average", 11, "must not be negative");
  expect_error(l, "tcp.middlewares.rate.rateLimit.period", 11, "longer than 0");
  expect_error(l, "tcp.middlewares.zero-burst.rateLimit.burst", 13, "at least 1");
  Error w = one(l.warnings, "tcp.middlewares.off.rateLimit.average");
  EXPECT_NE(w.message.find("limits nothing"), std::string::npos) << w.to_string();
}

TEST(ConfigMiddlewares, RouterNamesAreResolved) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tcp:
  middlewares:
    office:
      ipAllowList: {sourceRange: [10.0.0.0/8]}
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: whoami@internal
      middlewares: [ofice, office, other@docker, office]
      tls: {}
)y");
  expect_error(l, "tcp.routers.r.middlewares[0]", 12, "unknown middleware \"ofice\" (did you mean \"office\"?)");
  expect_error(l, "tcp.routers.r.middlewares[2]", 12, "names provider \"docker\"");
  expect_error(l, "tcp.routers.r.middlewares[3]", 12, "listed twice");
  EXPECT_EQ(l.errors.size(), 3u) << dump(l.errors);
}

// docs/policy.md: "Put ipAllowList first". A counting middleware before an
// allow list is warned about, with why; one that counts nothing is not.
TEST(ConfigMiddlewares, CountingBeforeAllowListIsWarned) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tcp:
  middlewares:
    office:
      ipAllowList: {sourceRange: [10.0.0.0/8]}
    calm:
      rateLimit: {average: 5}
    two:
      inFlightConn: {amount: 2}
    zero:
      inFlightConn: {amount: 0}
    off:
      rateLimit: {average: 0}
  routers:
    late:
      rule: "HostSNI(`a`)"
      service: whoami@internal
      middlewares:
        - calm@file
        - office
      tls: {}
    held:
      rule: "HostSNI(`b`)"
      service: whoami@internal
      middlewares: [two, office]
      tls: {}
    fine:
      rule: "HostSNI(`c`)"
      service: whoami@internal
      middlewares: [zero, off, office, calm, two]
      tls: {}
)y");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  Error late = one(l.warnings, "tcp.routers.late.middlewares");
  EXPECT_EQ(late.loc.line, 21) << late.to_string();
  EXPECT_TRUE(has(l.warnings, "tcp.routers.late.middlewares",
                  "rateLimit \"calm\" ([0]) runs before ipAllowList \"office\" ([1])"))
      << dump(l.warnings);
  EXPECT_TRUE(has(l.warnings, "tcp.routers.late.middlewares", "try again later")) << dump(l.warnings);
  Error held = one(l.warnings, "tcp.routers.held.middlewares");
  EXPECT_EQ(held.loc.line, 27) << held.to_string();
  EXPECT_TRUE(has(l.warnings, "tcp.routers.held.middlewares", "inFlightConn \"two\" ([0])")) << dump(l.warnings);
  EXPECT_TRUE(has(l.warnings, "tcp.routers.held.middlewares", "list the ipAllowList first")) << dump(l.warnings);
  EXPECT_FALSE(has(l.warnings, "tcp.routers.fine.middlewares", "")) << dump(l.warnings);
}

TEST(ConfigMiddlewares, NoneDefinedSaysWhere) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tcp:
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: whoami@internal
      middlewares:
        - office
      tls: {}
)y");
  expect_error(l, "tcp.routers.r.middlewares[0]", 10, "no middleware is defined in tcp.middlewares");
}

TEST(ConfigMiddlewares, IpWhiteListIsDeprecatedAlias) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tcp:
  middlewares:
    old:
      ipWhiteList: {sourceRange: [127.0.0.1]}
)y");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.dyn.middlewares.at("old").kind, MiddlewareKind::ip_allow_list);
  EXPECT_TRUE(has(l.warnings, "tcp.middlewares.old.ipWhiteList", "ipAllowList"));
}

TEST(ConfigMiddlewares, DefinedTwiceAcrossFiles) {
  TempDir dir;
  dir.write("d/a.yml", "tcp:\n  middlewares:\n    m:\n      inFlightConn: {amount: 1}\n");
  dir.write("d/b.yml", "tcp:\n  middlewares:\n    m:\n      inFlightConn: {amount: 2}\n");
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + "providers:\n  file:\n    directory: d\n"));
  EXPECT_TRUE(has(l.errors, "tcp.middlewares.m", "defined twice") || has(l.warnings, "tcp.middlewares.m", "defined in two files"))
      << dump(l.errors) << dump(l.warnings);
}

}  // namespace
}  // namespace snigate::config
