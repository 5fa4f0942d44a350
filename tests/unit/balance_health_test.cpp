// The health state machine without sockets: active verdicts, passive
// failures in a row, the downtime and its one trial, and the shared state.
#include <gtest/gtest.h>

#include "balance/health.hpp"

namespace snigate::balance {
namespace {

constexpr Nanos kSecond = 1'000'000'000;

TEST(HealthCheckState, ChangesAreReportedOnce) {
  ServerHealth h;
  EXPECT_EQ(record_check(h, ""), Change::none);  // up from the start
  EXPECT_EQ(record_check(h, "connect: refused"), Change::down);
  EXPECT_EQ(h.reason(), "connect: refused");
  EXPECT_EQ(record_check(h, "connect: refused"), Change::none);
  EXPECT_FALSE(admits(h, PassivePolicy{}, 0));
  EXPECT_FALSE(looks_usable(h, 0));
  EXPECT_EQ(record_check(h, ""), Change::up);
  EXPECT_TRUE(admits(h, PassivePolicy{}, 0));
  EXPECT_EQ(h.reason(), "");
}

TEST(PassiveHealth, OutAfterFailuresInARowThenOneTrial) {
  ServerHealth h;
  const PassivePolicy p{3, std::chrono::seconds(10)};
  const Nanos t0 = 100 * kSecond;
  EXPECT_EQ(record_dial(h, p, "refused", t0), Change::none);
  EXPECT_EQ(record_dial(h, p, "refused", t0), Change::none);
  EXPECT_TRUE(admits(h, p, t0));
  EXPECT_EQ(record_dial(h, p, "refused", t0), Change::down);
  EXPECT_EQ(h.dial_error(), "refused");
  EXPECT_FALSE(admits(h, p, t0 + 9 * kSecond));
  EXPECT_FALSE(looks_usable(h, t0 + 9 * kSecond));
  // Downtime over: the first caller gets the trial, the next does not.
  EXPECT_TRUE(looks_usable(h, t0 + 11 * kSecond));
  EXPECT_TRUE(admits(h, p, t0 + 11 * kSecond));
  EXPECT_FALSE(admits(h, p, t0 + 11 * kSecond));
  // The trial fails: out again, without a second DOWN.
  EXPECT_EQ(record_dial(h, p, "refused", t0 + 11 * kSecond), Change::none);
  EXPECT_FALSE(admits(h, p, t0 + 20 * kSecond));
  EXPECT_TRUE(admits(h, p, t0 + 22 * kSecond));
  EXPECT_EQ(record_dial(h, p, "", t0 + 22 * kSecond), Change::up);
  EXPECT_TRUE(admits(h, p, t0 + 22 * kSecond));
  EXPECT_EQ(h.failures.load(), 0);
}

TEST(PassiveHealth, ASuccessResetsTheCount) {
  ServerHealth h;
  const PassivePolicy p{3, std::chrono::seconds(10)};
  record_dial(h, p, "refused", 0);
  record_dial(h, p, "refused", 0);
  EXPECT_EQ(record_dial(h, p, "", 0), Change::none);
  EXPECT_EQ(record_dial(h, p, "refused", 0), Change::none);
  EXPECT_EQ(record_dial(h, p, "refused", 0), Change::none);
  EXPECT_TRUE(admits(h, p, 0));
}

TEST(PassiveHealth, ZeroFailuresTurnsItOff) {
  ServerHealth h;
  const PassivePolicy off{0, std::chrono::seconds(10)};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(record_dial(h, off, "refused", 0), Change::none);
  EXPECT_TRUE(admits(h, off, 0));
}

TEST(PassiveHealth, ACheckedDownServerIsNotTriedEvenAfterTheDowntime) {
  ServerHealth h;
  const PassivePolicy p{1, std::chrono::seconds(1)};
  EXPECT_EQ(record_dial(h, p, "refused", 0), Change::down);
  record_check(h, "closed");
  EXPECT_FALSE(admits(h, p, 5 * kSecond));
}

TEST(PassiveHealth, APassingProbeEndsThePassiveDowntime) {
  ServerHealth h;
  const PassivePolicy p{1, std::chrono::seconds(10)};
  EXPECT_EQ(record_dial(h, p, "refused", 0), Change::down);
  EXPECT_FALSE(admits(h, p, 1));
  EXPECT_EQ(record_check(h, ""), Change::up);  // the check never saw it down, but it was out
  EXPECT_TRUE(admits(h, p, 1));
  EXPECT_EQ(record_check(h, ""), Change::none);
}

TEST(PassiveHealth, ACheckComingUpEndsThePassiveDowntime) {
  ServerHealth h;
  const PassivePolicy p{1, std::chrono::seconds(10)};
  EXPECT_EQ(record_check(h, "connect: refused"), Change::down);
  EXPECT_EQ(record_dial(h, p, "refused", 0), Change::down);
  EXPECT_EQ(record_check(h, ""), Change::up);
  EXPECT_TRUE(admits(h, p, 1));
  EXPECT_EQ(h.failures.load(), 0);
}

TEST(HealthRegistry, SameKeySharesStateWhileInUse) {
  auto a = health_for("svc\n127.0.0.1:1\ncheck");
  auto b = health_for("svc\n127.0.0.1:1\ncheck");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, health_for("svc\n127.0.0.1:1\nother check"));
  a->checked_up = false;
  b.reset();
  a.reset();  // no Snapshot uses it any more: a new server starts up
  auto c = health_for("svc\n127.0.0.1:1\ncheck");
  EXPECT_TRUE(c->checked_up.load());
}

}  // namespace
}  // namespace snigate::balance
