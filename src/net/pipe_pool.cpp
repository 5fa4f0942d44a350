#include "net/pipe_pool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

namespace snigate::net {
namespace {

constexpr long kPageSize = 4096;     // the unit of pipe-user-pages-soft
constexpr long kDefaultSoft = 16384;  // the kernel's default soft limit, in pages

long initial_large_budget() {
  long soft = kDefaultSoft;
  std::ifstream("/proc/sys/fs/pipe-user-pages-soft") >> soft;
  if (soft <= 0) soft = kDefaultSoft;  // 0: no limit; keep to the default's share anyway
  return soft / 2 / (static_cast<long>(kLargePipe) / kPageSize);
}

}  // namespace

std::atomic<long>& PipePool::large_left() {
  static std::atomic<long> left{initial_large_budget()};
  return left;
}

Pipe PipePool::take() {
  if (!idle.empty()) {
    Pipe p = idle.back();
    idle.pop_back();
    return p;
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return {};
  // Refused (EPERM) for an unprivileged user already over the soft limit:
  // the pipe keeps its default size.
  if (large_left().fetch_sub(1, std::memory_order_relaxed) <= 0 ||
      ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(kLargePipe)) < 0)
    large_left().fetch_add(1, std::memory_order_relaxed);
  return {fds[0], fds[1]};
}

void PipePool::give(Pipe p) {
  if (idle.size() < max_idle) idle.push_back(p);
  else close(p);
}

// Rare enough (a full pool, a relay that ends with bytes in flight) to ask
// the kernel for the size rather than keep it in every Pipe.
void PipePool::close(Pipe& p) {
  if (p.write_fd >= 0 && ::fcntl(p.write_fd, F_GETPIPE_SZ) == static_cast<int>(kLargePipe))
    large_left().fetch_add(1, std::memory_order_relaxed);
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
