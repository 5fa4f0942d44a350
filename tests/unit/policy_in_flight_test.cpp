// inFlightConn's counts taken and given back from many threads at once.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "policy/in_flight.hpp"

namespace snigate::policy {
namespace {

IpAddress nth_ip(int i) {
  return IpAddress::from_v4({10, 0, static_cast<std::uint8_t>(i / 256), static_cast<std::uint8_t>(i % 256)});
}

TEST(PolicyInFlight, CountsPerIp) {
  auto counts = std::make_shared<InFlightCounts>();
  auto a = take_slot(counts, nth_ip(1), 2);
  auto b = take_slot(counts, nth_ip(1), 2);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(take_slot(counts, nth_ip(1), 2)) << "the third of amount 2";
  EXPECT_TRUE(take_slot(counts, nth_ip(2), 2)) << "another address has its own count";
  a.reset();
  EXPECT_EQ(counts->count(nth_ip(1)), 1);
  EXPECT_TRUE(take_slot(counts, nth_ip(1), 2)) << "a closed connection frees its slot";
}

TEST(PolicyInFlight, MappedAndPlainIpv4AreOneClient) {
  auto counts = std::make_shared<InFlightCounts>();
  auto held = take_slot(counts, *IpAddress::parse("127.0.0.2"), 1);
  ASSERT_TRUE(held);
  EXPECT_FALSE(take_slot(counts, *IpAddress::parse("::ffff:127.0.0.2"), 1));
}

TEST(PolicyInFlight, MovedTicketReleasesOnce) {
  auto counts = std::make_shared<InFlightCounts>();
  auto t = take_slot(counts, nth_ip(1), 3);
  auto u = take_slot(counts, nth_ip(1), 3);
  ASSERT_TRUE(t && u);
  {
    InFlightTicket moved = std::move(*t);
    EXPECT_EQ(counts->count(nth_ip(1)), 2);
    moved = std::move(*u);  // gives back the slot it held, takes u's
    EXPECT_EQ(counts->count(nth_ip(1)), 1);
  }
  t.reset();
  u.reset();
  EXPECT_EQ(counts->count(nth_ip(1)), 0);
  EXPECT_EQ(counts->tracked(), 0u);
}

// Threads take and give back slots for a few addresses at once: the limit
// holds at every moment and every count ends at 0.
TEST(PolicyInFlight, ManyThreadsNeverExceedTheAmount) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 20'000;
  constexpr int kAmount = 3;
  constexpr int kIps = 4;
  auto counts = std::make_shared<InFlightCounts>();
  std::atomic<int> over{0};
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const IpAddress ip = nth_ip((t + i) % kIps);
        auto ticket = take_slot(counts, ip, kAmount);
        if (!ticket) continue;
        granted.fetch_add(1, std::memory_order_relaxed);
        if (counts->count(ip) > kAmount) over.fetch_add(1, std::memory_order_relaxed);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_GT(granted.load(), 0);
  EXPECT_EQ(counts->tracked(), 0u) << "every ticket gave its slot back";
}

// Exactly `amount` of many simultaneous holders get in.
TEST(PolicyInFlight, HeldTicketsFromThreadsStopAtAmount) {
  constexpr int kThreads = 8;
  constexpr int kEach = 50;
  constexpr int kAmount = 100;
  auto counts = std::make_shared<InFlightCounts>();
  std::vector<std::vector<InFlightTicket>> held(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        if (auto ticket = take_slot(counts, nth_ip(7), kAmount)) held[t].push_back(std::move(*ticket));
    });
  for (auto& th : threads) th.join();
  std::size_t total = 0;
  for (const auto& h : held) total += h.size();
  EXPECT_EQ(total, static_cast<std::size_t>(kAmount));
  EXPECT_EQ(counts->count(nth_ip(7)), kAmount);
  held.clear();
  EXPECT_EQ(counts->count(nth_ip(7)), 0);
}

}  // namespace
}  // namespace snigate::policy
