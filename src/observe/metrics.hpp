#pragma once
// What the gateway counts for /metrics and the API. Each thread that counts
// (the workers, the health checker) has its own shard, taken with a lock only
// its owner and a scrape ever touch; a scrape sums the shards. Nothing is
// counted until enable_metrics() (metrics.prometheus or the API configured).
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace snigate::observe {

// Once, before any worker starts. buckets: the histograms' upper bounds, seconds.
void enable_metrics(std::vector<double> buckets);
bool metrics_enabled();

// One finished connection.
struct ConnectionSample {
  std::string_view entry_point, router, service, mode, end;
  std::uint64_t bytes_in = 0;   // client to server
  std::uint64_t bytes_out = 0;  // server to client
  double duration = 0;          // seconds, from accept to the end
  double handshake = -1;        // seconds of the client's TLS handshake; < 0: snigate did not terminate
  double connect = -1;          // seconds to connect the server; < 0: none was connected
};
void count_connection(const ConnectionSample& s);
void count_middleware_refusal(std::string_view middleware, std::string_view router, std::string_view reason);
void count_health_check(std::string_view service, std::string_view server, bool passed);
void count_reload(bool ok);  // a reload attempt and its outcome (the process clock's time)

// The open connections of an entry point: the counter lives as long as the
// process (entry points are static), so a connection may hold a pointer.
std::atomic<long>& open_connections_of(std::string_view entry_point);

struct Histogram {
  std::vector<std::uint64_t> counts;  // per bucket (not cumulative), then +Inf
  std::uint64_t n = 0;
  double sum = 0;
};

struct ConnectionKey {
  std::string entry_point, router, service, mode, end;
  auto operator<=>(const ConnectionKey&) const = default;
};
struct ConnectionCounts {
  std::uint64_t count = 0, bytes_in = 0, bytes_out = 0;
};

// The sums over every shard at one moment.
struct MetricsTotals {
  std::vector<double> buckets;
  std::map<ConnectionKey, ConnectionCounts> connections;
  std::map<std::string, Histogram> duration;   // by entry point
  std::map<std::string, Histogram> handshake;  // by entry point
  std::map<std::string, Histogram> connect;    // by service
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> refusals;  // middleware, router, reason
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> health;    // service, server, result
  std::map<std::string, long> open;            // by entry point
  std::uint64_t reloads = 0, reload_failures = 0;
  double last_reload_success = 0, last_reload_failure = 0;  // Unix time, seconds; 0: never
};
MetricsTotals collect_metrics();

}  // namespace snigate::observe
