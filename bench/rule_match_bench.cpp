// Micro-benchmark of route choice with HostSNIRegexp routers: N regex routers
// and N HostSNI routers on one entry point, tried in priority order (Traefik's
// default, the rule's length) as session::match does, for a few server names.
// It links src/rule only, so it builds from any commit with the same rule API.
//
//   cmake -S . -B build-rule-bench -DCMAKE_BUILD_TYPE=Release -DSNIGATE_TESTS=OFF -DSNIGATE_RULE_BENCH=ON
//   cmake --build build-rule-bench --target rule_match_bench
//   build-rule-bench/rule_match_bench
//
// Prints one line per (router count, name): how many rules were tried and the
// median CPU time per route choice over several timed runs.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <variant>
#include <vector>

#include "rule/rule.hpp"
#include "bench_clock.hpp"

namespace {

using snigate::Facts;
using snigate::rule::ParseError;
using snigate::rule::Rule;

struct Route {
  std::string name;
  Rule rule;
  std::size_t priority = 0;
};

Route make_route(std::string name, const std::string& text) {
  auto parsed = snigate::rule::parse(text);
  if (auto* e = std::get_if<ParseError>(&parsed)) {
    std::fprintf(stderr, "%s: %s\n", text.c_str(), e->message.c_str());
    std::exit(1);
  }
  return Route{std::move(name), std::get<Rule>(std::move(parsed)), text.size()};
}

// Half of the regex routers match one tenant's subdomains, half a numbered
// host family; every HostSNI router one exact name.
std::vector<Route> make_table(std::size_t n) {
  std::vector<Route> routes;
  for (std::size_t k = 0; k < n; ++k) {
    const std::string id = std::to_string(k);
    if (k % 2 == 0) {
      routes.push_back(make_route("re" + id, "HostSNIRegexp(`^[a-z0-9-]+\\.tenant" + id + "\\.example\\.com$`)"));
    } else {
      routes.push_back(make_route("re" + id, "HostSNIRegexp(`^(db|cache)-[0-9]+\\.zone" + id + "\\.internal$`)"));
    }
    routes.push_back(make_route("host" + id, "HostSNI(`svc" + id + ".example.com`)"));
  }
  // Highest priority first, ties by name: the order session::compile gives.
  std::sort(routes.begin(), routes.end(), [](const Route& a, const Route& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.name < b.name;
  });
  return routes;
}

// The index of the first route that matches, or routes.size().
std::size_t choose(const std::vector<Route>& routes, const Facts& facts) {
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (snigate::rule::match(routes[i].rule, facts)) return i;
  }
  return routes.size();
}

using snigate::bench::median;
using snigate::bench::thread_cpu_ns;

// Median CPU nanoseconds per route choice over `runs` runs of `iterations` each.
double time_choice(const std::vector<Route>& routes, const Facts& facts, int runs, long iterations) {
  std::vector<double> ns;
  volatile std::size_t sink = 0;
  for (int r = 0; r < runs; ++r) {
    const double start = thread_cpu_ns();
    for (long i = 0; i < iterations; ++i) sink = sink + choose(routes, facts);
    ns.push_back((thread_cpu_ns() - start) / static_cast<double>(iterations));
  }
  return median(ns);
}

void bench(std::size_t n, int runs, long budget) {
  const std::vector<Route> routes = make_table(n);
  // Tenant routers have even numbers, zone routers odd ones.
  const std::string tenant = std::to_string(n / 2 / 2 * 2);
  const std::string zone = std::to_string(n / 2 / 2 * 2 + 1);
  const std::vector<std::pair<std::string, std::string>> names = {
      {"regex, tenant", "app-1.tenant" + tenant + ".example.com"},
      {"regex, alternation", "cache-42.zone" + zone + ".internal"},
      {"HostSNI after all regexes", "svc" + tenant + ".example.com"},
      {"no route", "nothing.example.org"},
  };
  double total = 0;
  for (const auto& [label, sni] : names) {
    Facts facts;
    facts.tls = true;
    facts.sni = sni;
    const std::size_t chosen = choose(routes, facts);
    const std::size_t tried = std::min(chosen + 1, routes.size());
    // Fewer iterations for longer walks keep every line to a similar time.
    const long iterations = std::max<long>(1000, budget / static_cast<long>(tried));
    const double ns = time_choice(routes, facts, runs, iterations);
    total += ns;
    std::printf("%zu regex + %zu HostSNI | %-26s | %-32s | %3zu of %3zu | %10.1f ns\n", n, n, label.c_str(),
                sni.c_str(), tried, routes.size(), ns);
  }
  std::printf("%zu regex + %zu HostSNI | mean of the %zu names%*s| %10.1f ns\n", n, n, names.size(), 46, "",
              total / static_cast<double>(names.size()));
}

}  // namespace

int main(int argc, char** argv) {
  // argv[1]: rule evaluations per timed run (default 2,000,000), divided among the rules tried.
  const long budget = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  const int runs = 7;
  for (std::size_t n : {10, 100}) bench(n, runs, budget);
  return 0;
}
