#pragma once
// Loading a configuration on a thread of its own, which the caller waits for.
//
// glibc gives each new thread its own malloc arena. The parse tree and the
// loader's records (config::Router, a position for every key) all die once
// the snapshot is compiled; made on the main thread, they would leave their
// freed chunks scattered among the snapshot's, and a gateway with 100,000
// routers would keep twice the memory it uses. Made in an arena of their own,
// they go back to the system whole (docs/architecture.md).
#include <malloc.h>

#include <future>
#include <utility>

namespace snigate::config {

// While a configuration loads and compiles, blocks of 1 MiB or more are
// mapped apart and unmapped when freed. glibc otherwise raises that threshold
// each time such a block is freed, so the arrays RE2 grows while compiling a
// large RE2::Set land in the heap and leave holes between the snapshot's
// allocations (a third more resident memory at 100,000 patterns,
// docs/architecture.md). Afterwards the threshold is 32 MiB, glibc's
// highest, and so is the size the heap must have free at its top before free()
// gives it back: a match against such a set takes a block of several MiB,
// and mapping it apart or trimming the heap after it would cost system calls
// and page faults per connection (12% of the connection rate, measured).
// Setting either ends glibc's own adjustment of both; snigate gives memory
// back itself after each load (malloc_trim).
class LargeBlocksApart {
 public:
  LargeBlocksApart() {
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    // glibc's default: the loader's arenas give back their top as it frees
    // (malloc_trim does that only for the main arena's).
    mallopt(M_TRIM_THRESHOLD, 128 << 10);
  }
  ~LargeBlocksApart() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
  }
  LargeBlocksApart(const LargeBlocksApart&) = delete;
  LargeBlocksApart& operator=(const LargeBlocksApart&) = delete;
};

template <class Load>
auto on_load_thread(Load&& load) {
  return std::async(std::launch::async, std::forward<Load>(load)).get();
}

}  // namespace snigate::config
