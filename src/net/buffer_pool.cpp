#include "net/buffer_pool.hpp"

namespace snigate::net {

BufferPool::Buffer BufferPool::take() {
  if (idle.empty()) return std::make_unique_for_overwrite<std::uint8_t[]>(kCopyBuffer);  // no zero-fill
  Buffer b = std::move(idle.back());
  idle.pop_back();
  return b;
}

void BufferPool::give(Buffer b) {
  if (b && idle.size() < max_idle) idle.push_back(std::move(b));
}

BufferPool& BufferPool::this_thread() {
  thread_local BufferPool pool;
  return pool;
}

}  // namespace snigate::net
