#include "observe/metrics.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace snigate::observe {
namespace {

struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using TextMap = std::unordered_map<std::string, V, TextHash, std::equal_to<>>;

std::atomic<bool> enabled{false};
std::vector<double> bucket_bounds;  // written once before the workers start

void add(Histogram& h, double v) {
  if (h.counts.empty()) h.counts.assign(bucket_bounds.size() + 1, 0);
  const auto at = std::lower_bound(bucket_bounds.begin(), bucket_bounds.end(), v) - bucket_bounds.begin();
  ++h.counts[static_cast<std::size_t>(at)];
  ++h.n;
  h.sum += v;
}

void merge(Histogram& into, const Histogram& h) {
  if (into.counts.empty()) into.counts.assign(h.counts.size(), 0);
  for (std::size_t i = 0; i < h.counts.size() && i < into.counts.size(); ++i) into.counts[i] += h.counts[i];
  into.n += h.n;
  into.sum += h.sum;
}

// Keys are labels joined by a separator no name holds (names are printable).
constexpr char kSep = '\x1f';

struct Shard {
  std::mutex mutex;  // its thread, or a scrape
  TextMap<ConnectionCounts> connections;
  TextMap<Histogram> duration, handshake, connect;
  TextMap<std::uint64_t> refusals, health;
  std::string key;  // scratch, reused so a count allocates only for a new label set
};

struct Shards {
  std::mutex mutex;
  std::vector<std::shared_ptr<Shard>> all;
};
Shards& shards() {
  static Shards s;
  return s;
}

Shard& my_shard() {
  thread_local std::shared_ptr<Shard> mine = [] {
    auto s = std::make_shared<Shard>();
    std::lock_guard lock(shards().mutex);
    shards().all.push_back(s);
    return s;
  }();
  return *mine;
}

std::string_view join(std::string& key, std::initializer_list<std::string_view> parts) {
  key.clear();
  for (std::string_view p : parts) {
    key += p;
    key += kSep;
  }
  return key;
}

std::vector<std::string> split(const std::string& key) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t at; (at = key.find(kSep, start)) != std::string::npos; start = at + 1)
    out.push_back(key.substr(start, at - start));
  return out;
}

template <class V>
V& slot(TextMap<V>& m, std::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(std::string(key), V{}).first;
  return it->second;
}

struct Reloads {
  std::mutex mutex;
  std::uint64_t total = 0, failures = 0;
  double last_success = 0, last_failure = 0;
};
Reloads& reloads() {
  static Reloads r;
  return r;
}

struct OpenGauges {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<std::atomic<long>>, std::less<>> by_entry;
};
OpenGauges& open_gauges() {
  static OpenGauges g;
  return g;
}

}  // namespace

void enable_metrics(std::vector<double> buckets) {
  bucket_bounds = std::move(buckets);
  enabled.store(true, std::memory_order_release);
}

bool metrics_enabled() { return enabled.load(std::memory_order_relaxed); }

void count_connection(const ConnectionSample& s) {
  if (!metrics_enabled()) return;
  Shard& sh = my_shard();
  std::lock_guard lock(sh.mutex);
  ConnectionCounts& c = slot(sh.connections, join(sh.key, {s.entry_point, s.router, s.service, s.mode, s.end}));
  ++c.count;
  c.bytes_in += s.bytes_in;
  c.bytes_out += s.bytes_out;
  add(slot(sh.duration, s.entry_point), s.duration);
  if (s.handshake >= 0) add(slot(sh.handshake, s.entry_point), s.handshake);
  if (s.connect >= 0) add(slot(sh.connect, s.service), s.connect);
}

void count_middleware_refusal(std::string_view middleware, std::string_view router, std::string_view reason) {
  if (!metrics_enabled()) return;
  Shard& sh = my_shard();
  std::lock_guard lock(sh.mutex);
  ++slot(sh.refusals, join(sh.key, {middleware, router, reason}));
}

void count_health_check(std::string_view service, std::string_view server, bool passed) {
  if (!metrics_enabled()) return;
  Shard& sh = my_shard();
  std::lock_guard lock(sh.mutex);
  ++slot(sh.health, join(sh.key, {service, server, passed ? "up" : "down"}));
}

void count_reload(bool ok) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  Reloads& r = reloads();
  std::lock_guard lock(r.mutex);
  ++r.total;
  if (!ok) ++r.failures;
  (ok ? r.last_success : r.last_failure) = now;
}

std::atomic<long>& open_connections_of(std::string_view entry_point) {
  OpenGauges& g = open_gauges();
  std::lock_guard lock(g.mutex);
  auto it = g.by_entry.find(entry_point);
  if (it == g.by_entry.end())
    it = g.by_entry.emplace(std::string(entry_point), std::make_unique<std::atomic<long>>(0)).first;
  return *it->second;
}

namespace {

void add_shard(MetricsTotals& t, Shard& sh) {
  std::lock_guard lock(sh.mutex);
  for (const auto& [k, c] : sh.connections) {
    auto p = split(k);
    ConnectionCounts& into = t.connections[ConnectionKey{p[0], p[1], p[2], p[3], p[4]}];
    into.count += c.count;
    into.bytes_in += c.bytes_in;
    into.bytes_out += c.bytes_out;
  }
  for (const auto& [k, h] : sh.duration) merge(t.duration[k], h);
  for (const auto& [k, h] : sh.handshake) merge(t.handshake[k], h);
  for (const auto& [k, h] : sh.connect) merge(t.connect[k], h);
  for (const auto& [k, n] : sh.refusals) {
    auto p = split(k);
    t.refusals[{p[0], p[1], p[2]}] += n;
  }
  for (const auto& [k, n] : sh.health) {
    auto p = split(k);
    t.health[{p[0], p[1], p[2]}] += n;
  }
}

}  // namespace

MetricsTotals collect_metrics() {
  MetricsTotals t;
  t.buckets = bucket_bounds;
  std::vector<std::shared_ptr<Shard>> all;
  {
    std::lock_guard lock(shards().mutex);
    all = shards().all;
  }
  for (const auto& sh : all) add_shard(t, *sh);
  {
    OpenGauges& g = open_gauges();
    std::lock_guard lock(g.mutex);
    for (const auto& [name, n] : g.by_entry) t.open[name] = n->load(std::memory_order_relaxed);
  }
  Reloads& r = reloads();
  std::lock_guard lock(r.mutex);
  t.reloads = r.total;
  t.reload_failures = r.failures;
  t.last_reload_success = r.last_success;
  t.last_reload_failure = r.last_failure;
  return t;
}

}  // namespace snigate::observe
