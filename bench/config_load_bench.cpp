// Where loading a configuration spends its time: each phase of what
// `snigate check` and a reload do, timed apart, with the process's peak
// memory after each.
//
//   config_load_bench -c static.yaml
//
// Phases: YAML parse of the provider file, the key walk into config structs,
// rule syntax and cross-reference validation, compile (rules, route index,
// services, TLS), and freeing the whole lot.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "config/loader.hpp"
#include "session/snapshot.hpp"

namespace {

using Clock = std::chrono::steady_clock;

long peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

struct Phase {
  const char* name;
  Clock::time_point start = Clock::now();
  ~Phase() {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::printf("%-10s %8.1f ms  peak %5ld MB\n", name, ms, peak_rss_mb());
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
  config::Loaded cfg;
  {
    Phase p{"static"};
    auto doc = d::read_yaml(argv[2], cfg.errors);
    if (!doc) return 1;
    config::walk::Ctx ctx(argv[2], cfg.errors, cfg.warnings);
    d::parse_static(ctx, *doc, cfg.stat);
  }
  std::optional<YAML::Node> doc;
  {
    Phase p{"yaml"};
    doc = d::read_yaml(cfg.stat.file_filename, cfg.errors);
    if (!doc) return 1;
  }
  config::Dynamic dyn;
  {
    Phase p{"walk"};
    config::walk::Ctx ctx(cfg.stat.file_filename, cfg.errors, cfg.warnings);
    d::parse_dynamic_root(ctx, *doc, dyn, false);
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
    cfg.dyn = std::move(dyn);
  }
  std::shared_ptr<const session::Snapshot> snap;
  {
    Phase p{"compile"};
    snap = session::compile(cfg, cfg.errors, &cfg.warnings);
  }
  for (const auto& e : cfg.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  {
    Phase p{"free"};
    snap.reset();
    cfg = config::Loaded{};
  }
  return snap || cfg.errors.empty() ? 0 : 1;
}
