// net/edge_wait: waits that start right after EAGAIN (wait_ready, after_eagain), on real loopback sockets.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <optional>
#include <vector>

#include "net/edge_wait.hpp"

namespace snigate::net {
namespace {

using namespace std::chrono_literals;

struct Pair {
  explicit Pair(asio::io_context& io) : a(io), b(io) {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    a.connect(acc.local_endpoint());
    acc.accept(b);
    a.non_blocking(true);
    b.non_blocking(true);
  }
  tcp::socket a, b;
};

bool recv_says_eagain(tcp::socket& s) {
  std::array<char, 64> buf;
  return ::recv(s.native_handle(), buf.data(), buf.size(), 0) < 0 && errno == EAGAIN;
}

TEST(NetEdgeWait, ReadWaitEndsWhenBytesArrive) {
  asio::io_context io;
  Pair p(io);
  ASSERT_TRUE(recv_says_eagain(p.b));
  std::optional<std::error_code> got;
  wait_ready(p.b, tcp::socket::wait_read, true, [&](std::error_code ec) { got = ec; });
  io.run_for(20ms);
  EXPECT_FALSE(got) << "nothing was sent, yet the wait ended";
  asio::write(p.a, asio::buffer(std::string("x")));
  io.restart();
  io.run_for(2s);
  ASSERT_TRUE(got) << "the bytes did not end the wait";
  EXPECT_FALSE(*got) << got->message();
}

// Without an EAGAIN to vouch for, the wait is Asio's: it sees bytes whose
// edge the reactor took while nobody waited.
TEST(NetEdgeWait, WithoutEagainEarlierBytesAreSeen) {
  asio::io_context io;
  Pair p(io);
  asio::write(p.a, asio::buffer(std::string("early")));
  asio::steady_timer t(io, 20ms);  // keeps the reactor polling: it takes the
  t.async_wait([](std::error_code) {});  // edge while no wait is queued
  io.run();
  std::optional<std::error_code> got;
  wait_ready(p.b, tcp::socket::wait_read, false, [&](std::error_code ec) { got = ec; });
  io.restart();
  io.run_for(2s);
  ASSERT_TRUE(got) << "bytes that came before the wait were not seen";
  EXPECT_FALSE(*got) << got->message();
}

// A second message after the first was read to EAGAIN: a new edge, seen
// without any re-arm in between.
TEST(NetEdgeWait, EveryMessageIsANewEdge) {
  asio::io_context io;
  Pair p(io);
  int woken = 0;
  std::function<void()> next = [&] {
    ASSERT_TRUE(recv_says_eagain(p.b) || woken > 0);
    wait_ready(p.b, tcp::socket::wait_read, true, [&](std::error_code ec) {
      ASSERT_FALSE(ec) << ec.message();
      ++woken;
      std::array<char, 64> buf;
      while (::recv(p.b.native_handle(), buf.data(), buf.size(), 0) > 0) {
      }
      if (woken < 3) {
        next();
        asio::write(p.a, asio::buffer(std::string("more")));
      }
    });
  };
  next();
  asio::write(p.a, asio::buffer(std::string("first")));
  io.run_for(2s);
  EXPECT_EQ(woken, 3);
}

TEST(NetEdgeWait, WriteWaitEndsWhenThePeerReads) {
  asio::io_context io;
  Pair p(io);
  std::vector<char> chunk(64 * 1024, 'z');
  std::size_t queued = 0;
  for (;;) {
    const ssize_t n = ::send(p.a.native_handle(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n < 0) {
      ASSERT_EQ(errno, EAGAIN);
      break;
    }
    queued += static_cast<std::size_t>(n);
  }
  std::optional<std::error_code> got;
  wait_ready(p.a, tcp::socket::wait_write, true, [&](std::error_code ec) { got = ec; });
  io.run_for(20ms);
  EXPECT_FALSE(got) << "the send buffer is full, yet the wait ended";
  std::vector<char> sink(queued);
  asio::read(p.b, asio::buffer(sink), asio::transfer_at_least(queued / 2));
  io.restart();
  io.run_for(2s);
  ASSERT_TRUE(got) << "room in the send buffer did not end the wait";
  EXPECT_FALSE(*got) << got->message();
}

TEST(NetEdgeWait, CancelAndCloseEndTheWaitAsAborted) {
  asio::io_context io;
  Pair p(io);
  ASSERT_TRUE(recv_says_eagain(p.a));
  ASSERT_TRUE(recv_says_eagain(p.b));
  std::optional<std::error_code> cancelled, closed;
  wait_ready(p.a, tcp::socket::wait_read, true, [&](std::error_code ec) { cancelled = ec; });
  wait_ready(p.b, tcp::socket::wait_read, true, [&](std::error_code ec) { closed = ec; });
  p.a.cancel();
  p.b.close();
  io.run_for(1s);
  ASSERT_TRUE(cancelled && closed);
  EXPECT_EQ(*cancelled, asio::error::operation_aborted);
  EXPECT_EQ(*closed, asio::error::operation_aborted);
}

// A wait inside within() must still obey the deadline: with a cancellation
// slot it falls back to Asio's own wait, which listens to it.
TEST(NetEdgeWait, WithinCancelsTheWait) {
  asio::io_context io;
  Pair p(io);
  ASSERT_TRUE(recv_says_eagain(p.b));
  std::optional<bool> finished;
  const auto start = Clock::now();
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto wait = [&]() -> awaitable<void> { co_await wait_ready(p.b, tcp::socket::wait_read, true, nothrow); };
        finished = co_await within(Duration(50), wait());
      },
      asio::detached);
  io.run_for(2s);
  ASSERT_TRUE(finished) << "within() did not return";
  EXPECT_FALSE(*finished);
  EXPECT_LT(Clock::now() - start, 1s);
}

// The io_context goes away with the wait pending: the handler (and what it
// holds) is freed, not called. ASan would report the operation if it leaked.
TEST(NetEdgeWait, PendingWaitIsFreedWithTheContext) {
  auto held = std::make_shared<int>(7);
  bool called = false;
  {
    asio::io_context io;
    Pair p(io);
    ASSERT_TRUE(recv_says_eagain(p.b));
    wait_ready(p.b, tcp::socket::wait_read, true, [&called, held](std::error_code) { called = true; });
    io.run_for(10ms);
    EXPECT_EQ(held.use_count(), 2);
  }  // the socket closes first (the wait is cancelled, not run), then the context
  EXPECT_FALSE(called);
  EXPECT_EQ(held.use_count(), 1);
}

}  // namespace
}  // namespace snigate::net
