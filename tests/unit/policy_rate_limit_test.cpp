// rateLimit's token buckets, on a clock the test moves.
#include <gtest/gtest.h>

#include "policy/rate_limit.hpp"

namespace snigate::policy {
namespace {

using Clock = RateBuckets::Clock;
using std::chrono::milliseconds;

IpAddress nth_ip(int i) {
  return IpAddress::from_v4({10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                             static_cast<std::uint8_t>(i)});
}

const Clock::time_point t0 = Clock::time_point(std::chrono::hours(1000));

// How many of `tries` connections at `at` get a token.
int taken(RateBuckets& b, const RateSpec& spec, const IpAddress& ip, Clock::time_point at, int tries) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += b.take(ip, spec, at) ? 1 : 0;
  return n;
}

TEST(PolicyRateLimit, BurstThenAverage) {
  RateBuckets b;
  const RateSpec spec{10, 20, milliseconds(1000)};
  EXPECT_EQ(taken(b, spec, nth_ip(1), t0, 25), 20) << "a full bucket lets the burst through";
  EXPECT_EQ(taken(b, spec, nth_ip(1), t0 + milliseconds(100), 5), 1) << "10 per second: one per 100 ms";
  EXPECT_EQ(taken(b, spec, nth_ip(1), t0 + milliseconds(600), 10), 5);
  EXPECT_EQ(taken(b, spec, nth_ip(2), t0, 1), 1) << "each address has its own bucket";
}

TEST(PolicyRateLimit, RefillStopsAtBurst) {
  RateBuckets b;
  const RateSpec spec{5, 5, milliseconds(1000)};
  EXPECT_EQ(taken(b, spec, nth_ip(1), t0, 5), 5);
  EXPECT_EQ(taken(b, spec, nth_ip(1), t0 + std::chrono::hours(1), 100), 5);
}

TEST(PolicyRateLimit, Period) {
  RateBuckets b;
  const RateSpec spec{2, 1, milliseconds(60'000)};  // 2 a minute, one at a time
  EXPECT_EQ(taken(b, spec, nth_ip(1), t0, 3), 1);
  EXPECT_EQ(taken(b, spec, nth_ip(1), t0 + milliseconds(29'000), 1), 0);
  EXPECT_EQ(taken(b, spec, nth_ip(1), t0 + milliseconds(30'000), 1), 1);
}

TEST(PolicyRateLimit, AverageZeroIsNoLimit) {
  RateBuckets b;
  EXPECT_EQ(taken(b, RateSpec{0, 1, milliseconds(1000)}, nth_ip(1), t0, 1000), 1000);
  EXPECT_EQ(b.tracked(), 0u);
}

TEST(PolicyRateLimit, ClockGoingBackDoesNotAddTokens) {
  RateBuckets b;
  const RateSpec spec{1, 1, milliseconds(1000)};
  EXPECT_EQ(taken(b, spec, nth_ip(1), t0, 1), 1);
  EXPECT_EQ(taken(b, spec, nth_ip(1), t0 - milliseconds(5000), 1), 0);
}

TEST(PolicyRateLimit, TrackedAddressesAreBounded) {
  RateBuckets b(RateBuckets::kShards * 4);  // 4 per shard
  const RateSpec spec{1, 2, milliseconds(1000)};
  for (int i = 0; i < 5000; ++i) b.take(nth_ip(i), spec, t0 + milliseconds(i));
  EXPECT_LE(b.tracked(), RateBuckets::kShards * 4);
  EXPECT_GT(b.tracked(), 0u);
}

TEST(PolicyRateLimit, FullBucketsAreSweptFirst) {
  RateBuckets b(RateBuckets::kShards);  // 1 per shard
  const RateSpec spec{1, 1, milliseconds(1000)};
  // An address that used its token: after 2 s it is full again, and so is
  // dropped for a newcomer without losing anything.
  EXPECT_TRUE(b.take(nth_ip(1), spec, t0));
  for (int i = 2; i < 2000; ++i) b.take(nth_ip(i), spec, t0 + milliseconds(2000));
  EXPECT_LE(b.tracked(), RateBuckets::kShards);
  EXPECT_TRUE(b.take(nth_ip(1), spec, t0 + milliseconds(2000)));
}

}  // namespace
}  // namespace snigate::policy
