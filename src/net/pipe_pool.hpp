#pragma once
// Pipes for splice(2), kept per worker thread. A relay direction takes a pipe
// only while bytes are in flight and gives it back empty, so idle connections
// hold no pipe and the pool stays as small as the number of busy directions.
//
// A pipe is grown to 1 MiB where the budget allows: one splice pair then
// moves up to 1 MiB instead of a default pipe's 64 KiB, which a single
// stream notices (docs/benchmarks.md). The kernel counts a
// pipe's capacity (not its use) against its owner's pipe-user-pages-soft
// limit (64 MiB by default), and an unprivileged user over that limit gets
// new pipes of two pages only, for every process of the user. So grown pipes
// take at most half that limit; beyond it pipes keep the default size.
#include <atomic>
#include <cstddef>
#include <vector>

namespace snigate::net {

inline constexpr std::size_t kLargePipe = 1 << 20;

// Holds kLargePipe bytes or the system's default (64 KiB); a splice into it
// for kLargePipe moves what fits. Which one is not kept here: a relay
// direction holds a Pipe and every byte of it counts per connection.
struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  explicit operator bool() const { return read_fd >= 0; }
};

struct PipePool {
  std::vector<Pipe> idle;
  std::size_t max_idle = 16;

  Pipe take();            // an empty pipe; !pipe if the system refused one (EMFILE...)
  void give(Pipe p);      // p must be empty
  static void close(Pipe& p);
  ~PipePool();

  static PipePool& this_thread();

  // How many more pipes the process may grow to kLargePipe, across threads.
  // Set from the limit when first used; tests may set it.
  static std::atomic<long>& large_left();
};

}  // namespace snigate::net
