// net/pipe_pool: large pipes within the process's budget, default ones beyond.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "net/pipe_pool.hpp"

namespace snigate::net {
namespace {

int capacity(const Pipe& p) { return ::fcntl(p.write_fd, F_GETPIPE_SZ); }

// The budget is the process's; each test puts back what it found.
struct Budget {
  long saved = PipePool::large_left().load();
  explicit Budget(long left) { PipePool::large_left() = left; }
  ~Budget() { PipePool::large_left() = saved; }
};

TEST(NetPipePool, PipesGrowWhileTheBudgetLasts) {
  Budget budget(2);
  PipePool pool;
  Pipe a = pool.take(), b = pool.take(), c = pool.take();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(capacity(a), static_cast<int>(kLargePipe));
  EXPECT_EQ(capacity(b), static_cast<int>(kLargePipe));
  EXPECT_EQ(capacity(c), 65536) << "past the budget a pipe keeps the system's default";
  EXPECT_EQ(PipePool::large_left(), 0);

  PipePool::close(c);
  EXPECT_EQ(PipePool::large_left(), 0) << "closing a default pipe frees no budget";
  PipePool::close(a);
  EXPECT_EQ(PipePool::large_left(), 1);
  Pipe d = pool.take();
  EXPECT_EQ(capacity(d), static_cast<int>(kLargePipe)) << "a closed large pipe's share goes to the next one";
  PipePool::close(b);
  PipePool::close(d);
  EXPECT_EQ(PipePool::large_left(), 2);
}

TEST(NetPipePool, AnIdlePipeIsReusedAndAFullPoolClosesTheRest) {
  Budget budget(4);
  {
    PipePool pool;
    pool.max_idle = 1;
    Pipe a = pool.take(), b = pool.take();
    const int a_fd = a.read_fd;
    pool.give(a);
    pool.give(b);  // the pool is full: closed, its budget back
    EXPECT_EQ(PipePool::large_left(), 3);
    Pipe again = pool.take();
    EXPECT_EQ(again.read_fd, a_fd) << "an idle pipe is taken before a new one is made";
    pool.give(again);
  }  // the pool closes what it keeps
  EXPECT_EQ(PipePool::large_left(), 4);
}

TEST(NetPipePool, TheBudgetIsHalfTheUsersSoftLimit) {
  // Read once at the first use, from /proc/sys/fs/pipe-user-pages-soft
  // (16384 pages by default: 32 pipes of 1 MiB).
  long soft = 0;
  FILE* f = std::fopen("/proc/sys/fs/pipe-user-pages-soft", "r");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fscanf(f, "%ld", &soft), 1);
  std::fclose(f);
  if (soft == 0) soft = 16384;
  PipePool pool;  // nothing taken yet in this test: the budget is whole
  EXPECT_EQ(PipePool::large_left(), soft / 2 / 256);
}

}  // namespace
}  // namespace snigate::net
