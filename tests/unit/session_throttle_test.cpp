// session/throttle: providersThrottleDuration's coalescing.
#include <gtest/gtest.h>

#include "session/throttle.hpp"

namespace snigate::session {
namespace {

using namespace std::chrono_literals;

TEST(SessionThrottle, FirstChangeAtOnceThenOnePerInterval) {
  asio::io_context io;
  int applied = 0;
  std::chrono::steady_clock::time_point second;
  Throttle t(io, 1s, [&] {
    if (++applied == 2) second = std::chrono::steady_clock::now();
  });
  t.poke();
  io.run_for(50ms);
  ASSERT_EQ(applied, 1);  // at once, not after the interval
  const auto first = std::chrono::steady_clock::now();
  t.poke();
  t.poke();
  t.poke();
  io.restart();
  io.run_for(300ms);
  EXPECT_EQ(applied, 1);  // still within the interval: held
  io.restart();
  io.run_for(2s);
  EXPECT_EQ(applied, 2);  // the three changes, applied together
  EXPECT_GE(second - first, 700ms);
}

TEST(SessionThrottle, ZeroAppliesEveryChange) {
  asio::io_context io;
  int applied = 0;
  Throttle t(io, 0ms, [&] { ++applied; });
  for (int i = 0; i < 3; ++i) {
    t.poke();
    io.restart();
    io.run_for(20ms);
  }
  EXPECT_EQ(applied, 3);
}

}  // namespace
}  // namespace snigate::session
