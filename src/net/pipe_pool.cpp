#include "net/pipe_pool.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace snigate::net {

Pipe PipePool::take() {
  if (!idle.empty()) {
    Pipe p = idle.back();
    idle.pop_back();
    return p;
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return {};
  return {fds[0], fds[1]};
}

void PipePool::give(Pipe p) {
  if (idle.size() < max_idle) idle.push_back(p);
  else close(p);
}

void PipePool::close(Pipe& p) {
  if (p.read_fd >= 0) ::close(p.read_fd);
  if (p.write_fd >= 0) ::close(p.write_fd);
  p = {};
}

PipePool::~PipePool() {
  for (auto& p : idle) close(p);
}

PipePool& PipePool::this_thread() {
  thread_local PipePool pool;
  return pool;
}

}  // namespace snigate::net
