#pragma once
// Loading a configuration on a thread of its own, which the caller waits for.
//
// glibc gives each new thread its own malloc arena. The parse tree and the
// loader's records (config::Router, a position for every key) all die once
// the snapshot is compiled; made on the main thread, they would leave their
// freed chunks scattered among the snapshot's, and a gateway with 100,000
// routers would keep twice the memory it uses. Made in an arena of their own,
// they go back to the system whole (docs/architecture.md).
#include <future>
#include <utility>

namespace snigate::config {

template <class Load>
auto on_load_thread(Load&& load) {
  return std::async(std::launch::async, std::forward<Load>(load)).get();
}

}  // namespace snigate::config
