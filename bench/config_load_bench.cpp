// Where loading a configuration spends its time: each phase of what
// `snigate check` and a reload do, timed apart, with the process's peak
// memory after each (the heap in use: what the objects built so far take).
//
//   config_load_bench -c static.yaml
//
// Phases: YAML parse of the provider file, the key walk into config structs,
// rule syntax and cross-reference validation, compile (rules, route index,
// services, TLS), two reloads of the same file, and freeing the whole lot.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "bench_clock.hpp"
#include "config/large_blocks.hpp"
#include "config/load_thread.hpp"
#include "config/loader.hpp"
#include "session/route_reuse.hpp"
#include "session/snapshot.hpp"

namespace {

using Clock = std::chrono::steady_clock;

long peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

long rss_mb() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * sysconf(_SC_PAGESIZE) / (1 << 20);
}

// Wall-clock and CPU time: on a machine shared with other work the first
// counts the waits for a core, the second does not.
long live_heap_mb() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<long>((m.uordblks + m.hblkhd) >> 20);  // small chunks, and large ones mapped apart
}

struct Phase {
  const char* name;
  Clock::time_point start = Clock::now();
  double cpu_start = snigate::bench::thread_cpu_ns();
  ~Phase() {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    const double cpu_ms = (snigate::bench::thread_cpu_ns() - cpu_start) / 1e6;
    std::printf("%-10s %8.1f ms  cpu %8.1f ms  heap in use %5ld MB  RSS %5ld MB  peak %5ld MB\n", name, ms, cpu_ms,
                live_heap_mb(), rss_mb(), peak_rss_mb());
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::string(argv[1]) != "-c") {
    std::fprintf(stderr, "usage: config_load_bench -c static.yaml\n");
    return 2;
  }
  using namespace snigate;
  namespace d = config::detail;
  const config::LargeBlocksApart apart;  // as snigate loads
  config::Loaded cfg;
  {
    Phase p{"static"};
    auto doc = config::yaml::read_file(argv[2], cfg.errors);
    if (!doc) return 1;
    config::walk::Ctx ctx(argv[2], cfg.errors, cfg.warnings);
    d::parse_static(ctx, doc->root(), cfg.stat);
  }
  config::Dynamic dyn;
  auto load = [&] {
  std::shared_ptr<const config::yaml::Document> doc;
  {
    Phase p{"yaml"};
    doc = config::yaml::read_file(cfg.stat.file_filename, cfg.errors);
    if (!doc) std::exit(1);
  }
  {
    Phase p{"walk"};
    config::walk::Ctx ctx(cfg.stat.file_filename, cfg.errors, cfg.warnings);
    d::parse_dynamic_root(ctx, doc->root(), dyn, false);
    d::check_names(dyn, cfg.errors);
  }
  {
    Phase p{"yaml free"};
    doc.reset();
  }
  {
    Phase p{"validate"};
    d::apply_rule_syntax(cfg.stat, dyn, cfg.errors, cfg.warnings);
    d::validate(cfg.stat, dyn, cfg.errors, cfg.warnings);
  }
  };
  std::thread(load).join();  // as the gateway loads: its own malloc arena (config/load_thread.hpp)
  std::shared_ptr<const session::Snapshot> snap;
  {
    Phase p{"compile"};
    snap = session::compile(cfg.stat, std::move(dyn), cfg.errors, &cfg.warnings);
  }
  for (const auto& e : cfg.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  {
    Phase p{"trim"};  // what the gateway does once a load is in place
    malloc_trim(0);
  }
  // Two reloads as the gateway does them (session/runtime.cpp): the first
  // reads every router (the phases above leave no fingerprint of the sources
  // to compare with), the second finds them all unchanged and takes them over.
  for (const char* name : {"reload, all read", "reload, reused"}) {
    std::printf("%s:\n", name);
    config::Loaded next;
    {
      Phase p{"  load"};
      next = config::on_load_thread([&] {
        const config::Reuse reuse = session::reuse_of(*snap);
        config::Loaded l;
        l.stat = cfg.stat;
        config::load_dynamic(l.stat, l, nullptr, &reuse);
        return l;
      });
    }
    Phase p{"  compile"};
    auto again = session::compile(next.stat, std::move(next.dyn), next.errors, &next.warnings, snap.get());
    if (!again) return 1;
    std::printf("  %zu of %zu routers taken over\n", again->reused_routers, again->router_count);
    snap = std::move(again);
  }
  {
    Phase p{"free"};
    snap.reset();
    cfg = config::Loaded{};
  }
  return snap || cfg.errors.empty() ? 0 : 1;
}
