#pragma once
// How glibc's malloc treats large blocks while a configuration loads, and after.
#include <malloc.h>

namespace snigate::config {

// While a configuration loads and compiles, blocks of 1 MiB or more are
// mapped apart and unmapped when freed. glibc otherwise raises that threshold
// each time such a block is freed, so the arrays RE2 grows while compiling a
// large RE2::Set land in the heap and leave holes between the snapshot's
// allocations (docs/architecture.md, "Snapshot and reload"). Afterwards the
// threshold is 32 MiB, glibc's highest, and so is the size the heap must
// have free at its top before free() gives it back: a match against such a
// set takes a block of several MiB, and mapping it apart or trimming the heap
// after it would cost system calls and page faults per connection. Setting
// either ends glibc's own adjustment of both; snigate gives memory back
// itself after each load (malloc_trim).
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

}  // namespace snigate::config
