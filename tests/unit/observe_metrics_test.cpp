#include "observe/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace snigate::observe;

namespace {

// Counts are process-wide: each test uses label values of its own.
ConnectionSample sample(std::string_view router, std::string_view end, double duration) {
  ConnectionSample s;
  s.entry_point = "ep-metrics-test";
  s.router = router;
  s.service = "svc";
  s.mode = "plain";
  s.end = end;
  s.bytes_in = 10;
  s.bytes_out = 20;
  s.duration = duration;
  return s;
}

}  // namespace

TEST(ObserveMetrics, ShardsOfEveryThreadAreSummed) {
  enable_metrics({0.1, 1.0});
  auto work = [] {
    for (int i = 0; i < 1000; ++i) count_connection(sample("r-sum", "closed", 0.05));
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  work();
  const MetricsTotals t = collect_metrics();
  const auto it = t.connections.find(ConnectionKey{"ep-metrics-test", "r-sum", "svc", "plain", "closed"});
  ASSERT_NE(it, t.connections.end());
  EXPECT_EQ(it->second.count, 3000u);
  EXPECT_EQ(it->second.bytes_in, 30000u);
  EXPECT_EQ(it->second.bytes_out, 60000u);
}

TEST(ObserveMetrics, HistogramBucketsTakeTheirUpperBound) {
  enable_metrics({0.1, 1.0});
  const MetricsTotals before = collect_metrics();
  count_connection(sample("r-hist", "closed", 0.1));   // le 0.1 (upper bounds are inclusive)
  count_connection(sample("r-hist", "closed", 0.5));   // le 1
  count_connection(sample("r-hist", "closed", 30.0));  // +Inf
  const MetricsTotals t = collect_metrics();
  const Histogram& h = t.duration.at("ep-metrics-test");
  const Histogram& h0 = before.duration.count("ep-metrics-test") ? before.duration.at("ep-metrics-test") : Histogram{{0, 0, 0}, 0, 0};
  ASSERT_EQ(h.counts.size(), 3u);
  EXPECT_EQ(h.counts[0] - h0.counts[0], 1u);
  EXPECT_EQ(h.counts[1] - h0.counts[1], 1u);
  EXPECT_EQ(h.counts[2] - h0.counts[2], 1u);
  EXPECT_NEAR(h.sum - h0.sum, 30.6, 1e-9);
}

TEST(ObserveMetrics, RefusalsHealthAndReloads) {
  enable_metrics({0.1, 1.0});
  count_middleware_refusal("mw-t", "r-t", "not_allowed");
  count_middleware_refusal("mw-t", "r-t", "not_allowed");
  count_health_check("svc-t", "127.0.0.1:1", false);
  const MetricsTotals before = collect_metrics();
  count_reload(false);
  const MetricsTotals t = collect_metrics();
  EXPECT_EQ(t.refusals.at({"mw-t", "r-t", "not_allowed"}), 2u);
  EXPECT_EQ(t.health.at({"svc-t", "127.0.0.1:1", "down"}), 1u);
  EXPECT_EQ(t.reload_failures - before.reload_failures, 1u);
  EXPECT_GT(t.last_reload_failure, 0);
}

TEST(ObserveMetrics, OpenConnectionGaugesAreStable) {
  std::atomic<long>& a = open_connections_of("ep-open-test");
  EXPECT_EQ(&a, &open_connections_of("ep-open-test"));
  a.fetch_add(2);
  EXPECT_EQ(collect_metrics().open.at("ep-open-test"), 2);
  a.fetch_sub(2);
}
