// One log line per interval for a cause that repeats, and a count of the
// lines held back in between.
#include <gtest/gtest.h>

#include "observe/log_throttle.hpp"

namespace snigate::observe {
namespace {

using namespace std::chrono_literals;

TEST(LogThrottle, FirstLinePassesThenOnePerInterval) {
  LogThrottle t(1s);
  const auto t0 = LogThrottle::Clock::time_point{} + 100h;
  std::uint64_t held = 99;
  ASSERT_TRUE(t.pass(t0, held));
  EXPECT_EQ(held, 0u);
  for (int i = 1; i <= 500; ++i) EXPECT_FALSE(t.pass(t0 + i * 1ms, held)) << i;
  EXPECT_FALSE(t.pass(t0 + 999ms, held));
  ASSERT_TRUE(t.pass(t0 + 1s, held));
  EXPECT_EQ(held, 501u) << "the line after the interval says how many were held back";
  EXPECT_FALSE(t.pass(t0 + 1500ms, held));
  ASSERT_TRUE(t.pass(t0 + 5s, held));
  EXPECT_EQ(held, 1u);
}

TEST(LogThrottle, AQuietSpellLetsTheNextLineThroughAtOnce) {
  LogThrottle t(1s);
  const auto t0 = LogThrottle::Clock::time_point{} + 1h;
  std::uint64_t held = 0;
  ASSERT_TRUE(t.pass(t0, held));
  ASSERT_TRUE(t.pass(t0 + 10s, held));
  EXPECT_EQ(held, 0u);
}

TEST(LogThrottle, AtMostOneLinePerIntervalUnderSteadyRepeats) {
  LogThrottle t(1s);
  const auto t0 = LogThrottle::Clock::time_point{} + 1h;
  std::uint64_t held = 0, total_held = 0;
  int written = 0;
  // A repeat every 10 ms for 10 s: 1000 reports.
  for (int i = 0; i < 1000; ++i)
    if (t.pass(t0 + i * 10ms, held)) {
      ++written;
      total_held += held;
    }
  EXPECT_EQ(written, 10);
  EXPECT_EQ(total_held + static_cast<std::uint64_t>(written), 1000u - 99u)
      << "every report is either written or counted in a later line (the last interval's are still held)";
}

}  // namespace
}  // namespace snigate::observe
