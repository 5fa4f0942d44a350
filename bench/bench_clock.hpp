#pragma once
// Timing helpers shared by the micro benchmarks in bench/.
#include <time.h>

#include <algorithm>
#include <vector>

namespace snigate::bench {

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// CPU time of this thread: on a machine shared with other work, wall-clock
// time would count the time the benchmark waited for a core.
inline double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

}  // namespace snigate::bench
