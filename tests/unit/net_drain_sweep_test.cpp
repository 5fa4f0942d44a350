// net/drain_sweep: many deadlines on one timer per io_context.
#include <gtest/gtest.h>

#include <vector>

#include "net/drain_sweep.hpp"

namespace snigate::net {
namespace {

using namespace std::chrono_literals;

struct Owner {
  DrainSweep::Slot slot;
  Clock::time_point expired{};
  int times = 0;
  static void expire(void* p) {
    auto& o = *static_cast<Owner*>(p);
    o.expired = Clock::now();
    ++o.times;
  }
};

TEST(NetDrainSweep, EachDeadlineExpiresOnceAndNotBefore) {
  asio::io_context io;
  DrainSweep& sweep = DrainSweep::of(io.get_executor());
  Owner late, early, gone;
  const auto t0 = Clock::now();
  sweep.add(late.slot, t0 + 80ms, Owner::expire, &late);
  sweep.add(gone.slot, t0 + 20ms, Owner::expire, &gone);
  sweep.add(early.slot, t0 + 40ms, Owner::expire, &early);  // before the timer's 80 ms: re-armed
  sweep.remove(gone.slot);
  EXPECT_FALSE(gone.slot.registered());
  EXPECT_EQ(sweep.size(), 2u);
  io.run_for(300ms);
  EXPECT_EQ(gone.times, 0) << "a removed deadline fired";
  ASSERT_EQ(early.times, 1);
  ASSERT_EQ(late.times, 1);
  EXPECT_GE(early.expired - t0, 40ms);
  EXPECT_LT(early.expired - t0, 75ms) << "the later deadline held the earlier one back";
  EXPECT_GE(late.expired - t0, 80ms);
  EXPECT_FALSE(early.slot.registered()) << "an expired entry is removed before its owner is called";
  EXPECT_EQ(sweep.size(), 0u);
}

// Removing from the middle moves the last entry into the gap: its slot must
// follow, or removing it later would remove someone else's.
TEST(NetDrainSweep, SlotsFollowTheirEntries) {
  asio::io_context io;
  DrainSweep& sweep = DrainSweep::of(io.get_executor());
  std::vector<Owner> owners(5);
  const auto t0 = Clock::now();
  for (auto& o : owners) sweep.add(o.slot, t0 + 30ms, Owner::expire, &o);
  sweep.remove(owners[1].slot);  // owners[4] moves to index 1
  sweep.remove(owners[4].slot);
  EXPECT_EQ(sweep.size(), 3u);
  io.run_for(200ms);
  EXPECT_EQ(owners[0].times, 1);
  EXPECT_EQ(owners[1].times, 0);
  EXPECT_EQ(owners[2].times, 1);
  EXPECT_EQ(owners[3].times, 1);
  EXPECT_EQ(owners[4].times, 0);
}

// An owner called back may add a new deadline; it is kept, and fires.
TEST(NetDrainSweep, AnExpiryMayAddAnotherDeadline) {
  asio::io_context io;
  DrainSweep& sweep = DrainSweep::of(io.get_executor());
  struct Again {
    DrainSweep* sweep;
    DrainSweep::Slot slot;
    int times = 0;
    static void expire(void* p) {
      auto& a = *static_cast<Again*>(p);
      if (++a.times == 1) a.sweep->add(a.slot, Clock::now() + 10ms, expire, &a);
    }
  } again{&sweep, {}};
  sweep.add(again.slot, Clock::now() + 10ms, Again::expire, &again);
  io.run_for(200ms);
  EXPECT_EQ(again.times, 2);
  EXPECT_EQ(sweep.size(), 0u);
}

// The io_context going away with deadlines pending calls nobody, and an
// owner removing itself afterwards (a relay freed with its handlers) is safe.
TEST(NetDrainSweep, ShutdownWithPendingDeadlines) {
  Owner o;
  {
    asio::io_context io;
    DrainSweep::of(io.get_executor()).add(o.slot, Clock::now() + 1h, Owner::expire, &o);
  }
  EXPECT_EQ(o.times, 0);
  EXPECT_FALSE(o.slot.registered());
}

}  // namespace
}  // namespace snigate::net
