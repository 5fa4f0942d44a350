// Micro-benchmark of session::match with the route index against trying every
// route in order (what match did before the index), on N routers
// HostSNI(`hK.example.com`) of one entry point, for the name of the router of
// lowest priority (the walk's worst case) and for a name no router has.
//
//   cmake -S . -B build-rule-bench -DCMAKE_BUILD_TYPE=Release -DSNIGATE_TESTS=OFF -DSNIGATE_RULE_BENCH=ON
//   cmake --build build-rule-bench --target route_index_bench
//   build-rule-bench/route_index_bench
//
// Prints one line per (router count, name): the median CPU time per route
// choice over several timed runs, walking and through the index.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <variant>
#include <vector>

#include "session/snapshot.hpp"
#include "bench_clock.hpp"

namespace {

using snigate::Facts;
using snigate::session::EntryRoutes;
using snigate::session::Route;

Route make_route(std::size_t k, int priority) {
  const std::string text = "HostSNI(`h" + std::to_string(k) + ".example.com`)";
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
EntryRoutes make_entry(std::size_t n) {
  EntryRoutes entry;
  for (std::size_t k = 0; k < n; ++k) entry.routes.push_back(make_route(k, static_cast<int>(n - k)));
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

void bench(std::size_t n, int runs, long budget) {
  const EntryRoutes entry = make_entry(n);
  const std::vector<std::pair<std::string, std::string>> names = {
      {"lowest priority", "h" + std::to_string(n - 1) + ".example.com"},
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
    std::printf("%7zu HostSNI routers | %-16s | walk %12.1f ns | index %7.1f ns\n", n, label.c_str(), walk_ns,
                index_ns);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // argv[1]: rule evaluations per timed run of the walk (default 2,000,000).
  const long budget = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  for (std::size_t n : {1, 1000, 10000, 100000}) bench(n, 7, budget);
  return 0;
}
