// Prints what snigate's EtcdWatcher reports, one line per update, until
// SIGTERM or SIGINT: "update <revision> <changed key>...". Used by
// bench/etcd_watch_latency.py, tests/e2e/test_kv_watch.py and for trying the
// watcher by hand:
//   kv_watch_probe 127.0.0.1:2379[,more] traefik/ [user password]
// With KV_PROBE_FROM_REVISION=R in the environment it starts as if a read at
// revision R - 1 had found nothing (EtcdWatcher's `initial`): it watches from R.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "kv/etcd.hpp"

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: %s ENDPOINT[,ENDPOINT...] PREFIX [USER PASSWORD]\n", argv[0]);
    return 2;
  }
  snigate::config::EtcdProvider opts;
  opts.endpoints.clear();
  std::stringstream list(argv[1]);
  for (std::string ep; std::getline(list, ep, ',');) opts.endpoints.push_back(ep);
  if (argc == 5) {
    opts.username = argv[3];
    opts.password = argv[4];
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before the watcher's thread starts, so it inherits the mask
  std::chrono::steady_clock::time_point asked;
  std::optional<snigate::kv::RangeResult> initial;
  if (const char* from = std::getenv("KV_PROBE_FROM_REVISION")) initial = snigate::kv::RangeResult{{}, std::atoll(from) - 1};
  {
    snigate::kv::EtcdWatcher watcher(opts, argv[2], [](const snigate::config::KvPairs& all, std::int64_t revision,
                                                       const std::vector<std::string>& changed) {
      std::string line = "update " + std::to_string(revision);
      for (const auto& k : changed) line += " " + k;
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
      spdlog::debug("{} key(s) in all", all.size());
    }, initial);
    int sig = 0;
    sigwait(&stop, &sig);
    asked = std::chrono::steady_clock::now();
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - asked);
  std::fprintf(stderr, "stopped in %lld ms\n", static_cast<long long>(took.count()));
  return 0;
}
