// Micro-benchmark of a weighted service's pick under contention: T threads
// (workers) pick from one shared SmoothWrr as fast as they can, against the
// same threads taking a load balancer's round-robin turn (one atomic
// fetch_add). Prints the wall time per pick, to compare with the CPU a
// connection costs (docs/benchmarks.md).
//
//   g++ -O2 -std=c++20 -Isrc bench/wrr_pick_bench.cpp src/balance/wrr.cpp -pthread -o /tmp/wrr_pick_bench
//   /tmp/wrr_pick_bench [threads] [picks per thread]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "balance/wrr.hpp"

namespace {

template <class F>
double ns_per_op(int threads, long per_thread, F op) {
  std::vector<std::thread> pool;
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (long i = 0; i < per_thread; ++i) op();
    });
  for (auto& th : pool) th.join();
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - t0;
  return took.count() / static_cast<double>(per_thread);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const long picks = argc > 2 ? std::atol(argv[2]) : 2'000'000;
  snigate::balance::SmoothWrr wrr;
  const std::vector<int> weights{5, 1, 1};
  std::atomic<std::size_t> sink{0};
  std::atomic<std::uint32_t> next{0};
  const double wrr_ns = ns_per_op(threads, picks, [&] { sink += wrr.pick(weights, {}); });
  const double rr_ns = ns_per_op(threads, picks, [&] { sink += next.fetch_add(1, std::memory_order_relaxed) % 3; });
  std::printf("threads=%d picks_per_thread=%ld weighted_pick_ns=%.1f round_robin_turn_ns=%.1f\n", threads, picks,
              wrr_ns, rr_ns);
  return sink.load() == 0 ? 1 : 0;
}
