#pragma once
// Pipes for splice(2), kept per worker thread. A relay direction takes a pipe
// only while bytes are in flight and gives it back empty, so idle connections
// hold no pipe and the pool stays as small as the number of busy directions.
#include <vector>

namespace snigate::net {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  explicit operator bool() const { return read_fd >= 0; }
};

struct PipePool {
  std::vector<Pipe> idle;
  std::size_t max_idle = 64;

  Pipe take();            // an empty pipe; !pipe if the system refused one (EMFILE...)
  void give(Pipe p);      // p must be empty
  static void close(Pipe& p);
  ~PipePool();

  static PipePool& this_thread();
};

}  // namespace snigate::net
