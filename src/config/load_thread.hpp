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

// Blocks of 1 MiB or more are mapped apart, and unmapped when freed. glibc
// otherwise raises that threshold each time such a block is freed, so the
// arrays a large RE2::Set grows while compiling land in the heap and leave
// holes between the snapshot's allocations (a third more resident memory at
// 100,000 patterns, docs/architecture.md). Called once, at start.
inline void map_large_blocks_apart() { mallopt(M_MMAP_THRESHOLD, 1 << 20); }

template <class Load>
auto on_load_thread(Load&& load) {
  return std::async(std::launch::async, std::forward<Load>(load)).get();
}

}  // namespace snigate::config
