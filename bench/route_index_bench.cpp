// Micro-benchmark of session::match with the route index against trying every
// route in order (what match did before the index), on N routers of one entry
// point, all HostSNI(`hK.example.com`) or all
// HostSNIRegexp(`^rK-[a-z]+\.example\.com$`), for the name of the router of
// lowest priority (the walk's worst case) and for a name no router has; then
// the RE2::Set over N such patterns alone (anchored with ^ or not), as the
// route index builds it and split or limited otherwise: the CPU time to build
// it, the heap it holds (after building, and after 1,000 names new to its
// DFA), and the time to match one name.
//
//   cmake -S . -B build-rule-bench -DCMAKE_BUILD_TYPE=Release -DSNIGATE_TESTS=OFF -DSNIGATE_RULE_BENCH=ON
//   cmake --build build-rule-bench --target route_index_bench
//   build-rule-bench/route_index_bench            # everything
//   build-rule-bench/route_index_bench 2000000 sets   # the RE2::Set lines only
//
// Prints one line per (rule kind, router count, name): the median CPU time
// per route choice over several timed runs, walking and through the index;
// then one line per (pattern count, shape, split).
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <variant>
#include <vector>

#include "bench_clock.hpp"
#include "rule/sni_regexp_set.hpp"
#include "session/snapshot.hpp"

namespace {

using snigate::Facts;
using snigate::session::EntryRoutes;
using snigate::session::Route;

enum class Kind { exact, regexp };

std::string rule_of(Kind kind, std::size_t k) {
  return kind == Kind::exact ? "HostSNI(`h" + std::to_string(k) + ".example.com`)"
                             : "HostSNIRegexp(`^r" + std::to_string(k) + "-[a-z]+\\.example\\.com$`)";
}

std::string name_of(Kind kind, std::size_t k) {
  return kind == Kind::exact ? "h" + std::to_string(k) + ".example.com" : "r" + std::to_string(k) + "-abc.example.com";
}

Route make_route(Kind kind, std::size_t k, int priority) {
  const std::string text = rule_of(kind, k);
  auto parsed = snigate::rule::parse(text);
  if (auto* e = std::get_if<snigate::rule::ParseError>(&parsed)) {
    std::fprintf(stderr, "%s: %s\n", text.c_str(), e->message.c_str());
    std::exit(1);
  }
  Route r;
  r.name = "h" + std::to_string(k);
  r.rule = std::get<snigate::rule::Rule>(std::move(parsed));
  r.priority = priority;
  r.tls = true;
  r.passthrough = true;
  return r;
}

// Router K has priority N - K, so router N-1 is tried last by the walk.
EntryRoutes make_entry(Kind kind, std::size_t n) {
  EntryRoutes entry;
  for (std::size_t k = 0; k < n; ++k) entry.routes.push_back(make_route(kind, k, static_cast<int>(n - k)));
  std::ranges::sort(entry.routes, [](const Route& a, const Route& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.name < b.name;
  });
  entry.index = snigate::session::build_route_index(entry.routes);
  return entry;
}

const Route* walk(const EntryRoutes& entry, const Facts& facts) {
  for (const Route& r : entry.routes)
    if (r.tls == facts.tls && snigate::rule::match(r.rule, facts)) return &r;
  return nullptr;
}

using snigate::bench::median;
using snigate::bench::thread_cpu_ns;

// Median CPU nanoseconds per call of `choose` over `runs` runs of `iterations` each.
template <typename Choose>
double time_choice(Choose choose, const EntryRoutes& entry, const Facts& facts, int runs, long iterations) {
  std::vector<double> ns;
  const Route* volatile sink = nullptr;
  for (int r = 0; r < runs; ++r) {
    const double start = thread_cpu_ns();
    for (long i = 0; i < iterations; ++i) sink = choose(entry, facts);
    ns.push_back((thread_cpu_ns() - start) / static_cast<double>(iterations));
  }
  (void)sink;
  return median(ns);
}

void bench(Kind kind, std::size_t n, int runs, long budget) {
  const EntryRoutes entry = make_entry(kind, n);
  const std::vector<std::pair<std::string, std::string>> names = {
      {"lowest priority", name_of(kind, n - 1)},
      {"no route", "nothing.example.org"},
  };
  for (const auto& [label, sni] : names) {
    Facts facts;
    facts.tls = true;
    facts.sni = sni;
    if (walk(entry, facts) != snigate::session::match(entry, facts)) {
      std::fprintf(stderr, "index and walk disagree for %s\n", sni.c_str());
      std::exit(1);
    }
    // Fewer iterations for longer walks keep every line to a similar time.
    const long walk_iterations = std::max<long>(20, budget / static_cast<long>(n));
    const double walk_ns = time_choice(walk, entry, facts, runs, walk_iterations);
    const double index_ns = time_choice(snigate::session::match, entry, facts, runs, budget / 10);
    std::printf("%7zu %-13s routers | %-16s | walk %12.1f ns | index %7.1f ns\n", n,
                kind == Kind::exact ? "HostSNI" : "HostSNIRegexp", label.c_str(), walk_ns, index_ns);
  }
}

double heap_mb() { return static_cast<double>(mallinfo2().uordblks) / (1 << 20); }

// Median CPU nanoseconds to match one name against the whole set.
double time_set_match(const snigate::rule::SniRegexpSet& set, const std::string& sni, int runs, long iterations) {
  std::vector<double> ns;
  std::vector<int> hits;
  for (int r = 0; r < runs; ++r) {
    const double start = thread_cpu_ns();
    for (long i = 0; i < iterations; ++i) {
      hits.clear();
      snigate::rule::match_sni_regexp_set(set, sni, hits);
    }
    ns.push_back((thread_cpu_ns() - start) / static_cast<double>(iterations));
  }
  return median(ns);
}

// A pattern per router: anchored at the start as a tenant's name usually is,
// or not (every state of the set's DFA then carries every pattern).
std::string pattern_of(std::size_t k, bool anchored) {
  return (anchored ? "^r" : "r") + std::to_string(k) + "-[a-z]+\\.example\\.com$";
}

// Builds the set, matches 1,000 distinct names (each one new to the DFA),
// then times a hit and a miss.
void bench_set(std::size_t n, bool anchored, snigate::rule::SniRegexpLimits limits) {
  std::vector<std::string> patterns;
  for (std::size_t k = 0; k < n; ++k) patterns.push_back(pattern_of(k, anchored));
  const std::vector<std::string_view> views(patterns.begin(), patterns.end());
  const double heap_before = heap_mb();
  const double start = thread_cpu_ns();
  const auto set = snigate::rule::build_sni_regexp_set(views, limits);
  const double build_ms = (thread_cpu_ns() - start) / 1e6;
  const double heap_built = heap_mb() - heap_before;
  std::vector<int> hits;
  std::size_t failed = 0;
  for (std::size_t i = 0; i < 1000; ++i) {
    hits.clear();
    failed += snigate::rule::match_sni_regexp_set(set, "r" + std::to_string(i * 97 % n) + "-x" + std::to_string(i) + ".example.com", hits) != 0;
  }
  const double hit_ns = time_set_match(set, "r" + std::to_string(n - 1) + "-abc.example.com", 5, 200);
  const double miss_ns = time_set_match(set, "nothing.example.org", 5, 200);
  const auto per_set = static_cast<std::int64_t>(std::min(n, limits.chunk));
  const std::int64_t mem = std::max(limits.min_mem, per_set * limits.mem_per_pattern);
  std::printf("%7zu %-10s patterns | chunks of %6zu, max_mem %4lld MB (%3zu sets, %zu failed) | build %7.1f ms CPU | "
              "heap %5.1f MB built, %5.1f MB after 1,000 names (%zu failed) | match %8.1f ns hit, %8.1f ns miss\n",
              n, anchored ? "anchored" : "unanchored", limits.chunk, static_cast<long long>(mem >> 20),
              set.chunks.size(), set.failed_chunks, build_ms, heap_built, heap_mb() - heap_before, failed, hit_ns,
              miss_ns);
}

}  // namespace

int main(int argc, char** argv) {
  // argv[1]: rule evaluations per timed run of the walk (default 2,000,000);
  // argv[2]: "sets" for the RE2::Set rows only.
  const long budget = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  const bool sets_only = argc > 2 && std::string(argv[2]) == "sets";
  if (!sets_only)
    for (Kind kind : {Kind::exact, Kind::regexp})
      for (std::size_t n : {1, 1000, 10000, 100000}) bench(kind, n, 7, budget);
  const std::int64_t mb = 1 << 20;
  for (bool anchored : {true, false})
    for (std::size_t n : {1000, 10000, 100000}) {
      bench_set(n, anchored, {});  // what the route index uses
      for (std::size_t chunk : {std::size_t{4096}, std::size_t{16384}}) bench_set(n, anchored, {chunk, 64 * mb, 0});
      for (std::int64_t mem : {64 * mb, 256 * mb}) bench_set(n, anchored, {n, mem, 0});
    }
  return 0;
}
