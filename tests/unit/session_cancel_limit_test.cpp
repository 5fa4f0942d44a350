// The bounds on PostgreSQL cancel forwarding: a token bucket per source for
// cancels that fan out to every passthrough server, and a process-wide cap on
// cancels in flight.
#include <gtest/gtest.h>

#include <vector>

#include "session/cancel_limit.hpp"

namespace snigate::session {
namespace {

using namespace std::chrono_literals;
using Clock = CancelLimiter::Clock;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

const Clock::time_point t0 = Clock::time_point{} + 1000h;

CancelLimits small(double rate, double burst, std::size_t in_flight, std::size_t sources = 100) {
  CancelLimits l;
  l.per_source_rate = rate;
  l.per_source_burst = burst;
  l.in_flight = in_flight;
  l.sources = sources;
  return l;
}

TEST(CancelLimiter, ASourceGetsItsBurstThenItsRate) {
  CancelLimiter lim(small(2, 4, 100));
  for (int i = 0; i < 4; ++i) {
    CancelLimiter::Permit p;
    EXPECT_EQ(lim.admit(ip("10.0.0.1"), true, t0, p), CancelVerdict::admitted) << i;
    EXPECT_TRUE(p.held());
  }
  CancelLimiter::Permit p;
  EXPECT_EQ(lim.admit(ip("10.0.0.1"), true, t0, p), CancelVerdict::source_over_rate);
  EXPECT_FALSE(p.held());
  EXPECT_EQ(lim.admit(ip("10.0.0.1"), true, t0 + 400ms, p), CancelVerdict::source_over_rate) << "0.8 tokens";
  EXPECT_EQ(lim.admit(ip("10.0.0.1"), true, t0 + 500ms, p), CancelVerdict::admitted) << "1 token after 0.5 s at 2/s";
  p = {};
  EXPECT_EQ(lim.admit(ip("10.0.0.1"), true, t0 + 500ms, p), CancelVerdict::source_over_rate);
  EXPECT_EQ(lim.admit(ip("10.0.0.2"), true, t0 + 500ms, p), CancelVerdict::admitted) << "another source has its own";
}

TEST(CancelLimiter, TheBucketRefillsNoHigherThanTheBurst) {
  CancelLimiter lim(small(2, 4, 100));
  CancelLimiter::Permit p;
  ASSERT_EQ(lim.admit(ip("10.0.0.1"), true, t0, p), CancelVerdict::admitted);
  int admitted = 0;
  for (int i = 0; i < 20; ++i) {
    CancelLimiter::Permit q;
    if (lim.admit(ip("10.0.0.1"), true, t0 + 1h, q) == CancelVerdict::admitted) ++admitted;
  }
  EXPECT_EQ(admitted, 4);
}

TEST(CancelLimiter, ACancelWithAKnownKeyIsNotChargedToItsSource) {
  CancelLimiter lim(small(1, 1, 100));
  for (int i = 0; i < 50; ++i) {
    CancelLimiter::Permit p;
    EXPECT_EQ(lim.admit(ip("10.0.0.1"), false, t0, p), CancelVerdict::admitted) << i;
  }
  CancelLimiter::Permit p;
  EXPECT_EQ(lim.admit(ip("10.0.0.1"), true, t0, p), CancelVerdict::admitted) << "the bucket is still full";
}

TEST(CancelLimiter, InFlightIsCappedAcrossSourcesUntilPermitsEnd) {
  CancelLimiter lim(small(100, 100, 3));
  std::vector<CancelLimiter::Permit> held(3);
  EXPECT_EQ(lim.admit(ip("10.0.0.1"), true, t0, held[0]), CancelVerdict::admitted);
  EXPECT_EQ(lim.admit(ip("10.0.0.2"), false, t0, held[1]), CancelVerdict::admitted);
  EXPECT_EQ(lim.admit(ip("2001:db8::1"), true, t0, held[2]), CancelVerdict::admitted);
  EXPECT_EQ(lim.in_flight(), 3u);
  CancelLimiter::Permit p;
  EXPECT_EQ(lim.admit(ip("10.0.0.4"), false, t0, p), CancelVerdict::too_many_in_flight);
  EXPECT_FALSE(p.held());
  held[1] = {};
  EXPECT_EQ(lim.in_flight(), 2u);
  EXPECT_EQ(lim.admit(ip("10.0.0.4"), false, t0, p), CancelVerdict::admitted);
  CancelLimiter::Permit moved = std::move(p);
  EXPECT_FALSE(p.held());
  EXPECT_EQ(lim.in_flight(), 3u) << "a moved permit still holds one place";
  held.clear();
  moved = {};
  EXPECT_EQ(lim.in_flight(), 0u);
}

TEST(CancelLimiter, AnIpv6SourceIsItsSlash64) {
  CancelLimiter lim(small(1, 2, 100));
  CancelLimiter::Permit p;
  EXPECT_EQ(lim.admit(ip("2001:db8:1:2::1"), true, t0, p), CancelVerdict::admitted);
  EXPECT_EQ(lim.admit(ip("2001:db8:1:2:ffff::9"), true, t0, p), CancelVerdict::admitted);
  EXPECT_EQ(lim.admit(ip("2001:db8:1:2:abcd::7"), true, t0, p), CancelVerdict::source_over_rate)
      << "another address of the same /64 shares the bucket";
  EXPECT_EQ(lim.admit(ip("2001:db8:1:3::1"), true, t0, p), CancelVerdict::admitted);
}

TEST(CancelLimiter, TheSourceTableStaysBounded) {
  CancelLimiter lim(small(1, 1, 1000, 8));
  for (int i = 0; i < 8; ++i) {
    CancelLimiter::Permit p;
    const std::string a = "10.0.1." + std::to_string(i);
    ASSERT_EQ(lim.admit(ip(a.c_str()), true, t0, p), CancelVerdict::admitted);
  }
  EXPECT_EQ(lim.sources(), 8u);
  // All eight are busy: a ninth source is held to the in-flight cap only,
  // and not remembered.
  CancelLimiter::Permit p;
  EXPECT_EQ(lim.admit(ip("10.0.2.1"), true, t0, p), CancelVerdict::admitted);
  EXPECT_EQ(lim.admit(ip("10.0.2.1"), true, t0, p), CancelVerdict::admitted);
  EXPECT_EQ(lim.sources(), 8u);
  // Once the old buckets have refilled they are forgotten to make room.
  EXPECT_EQ(lim.admit(ip("10.0.2.1"), true, t0 + 2s, p), CancelVerdict::admitted);
  EXPECT_EQ(lim.sources(), 1u);
  EXPECT_EQ(lim.admit(ip("10.0.2.1"), true, t0 + 2s, p), CancelVerdict::source_over_rate) << "now it is tracked";
}

}  // namespace
}  // namespace snigate::session
