// net/edge_wait: waits that skip the epoll re-arm (wait_ready after EAGAIN or
// after reactor_recv), on real loopback sockets.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "net/edge_wait.hpp"
#include "net/recv_drained.hpp"

namespace snigate::net {
namespace {

using namespace std::chrono_literals;

struct Pair {
  explicit Pair(asio::io_context& io) : a(io), b(io) {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    enable_read_left(acc.native_handle());  // as snigate's listeners
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
  wait_ready(p.b, tcp::socket::wait_read, Since::eagain, [&](std::error_code ec) { got = ec; });
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
  wait_ready(p.b, tcp::socket::wait_read, Since::unknown, [&](std::error_code ec) { got = ec; });
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
    wait_ready(p.b, tcp::socket::wait_read, Since::eagain, [&](std::error_code ec) {
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

// A listener, as accept_next waits on it: after accept's EAGAIN, each new
// connection is a new edge.
TEST(NetEdgeWait, AListenerWaitEndsForEachNewConnection) {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acc.non_blocking(true);
  std::vector<tcp::socket> clients, accepted;
  clients.reserve(3);
  auto accept_all = [&] {
    for (;;) {
      tcp::socket s(io);
      std::error_code ec;
      acc.accept(s, ec);
      if (ec) return ec;
      accepted.push_back(std::move(s));
    }
  };
  std::function<void()> next = [&] {
    wait_ready(acc, tcp::acceptor::wait_read, Since::eagain, [&](std::error_code ec) {
      ASSERT_FALSE(ec) << ec.message();
      ASSERT_EQ(accept_all(), asio::error::would_block);
      if (accepted.size() < 3) {
        next();
        clients.emplace_back(io).connect(acc.local_endpoint());
      }
    });
  };
  ASSERT_EQ(accept_all(), asio::error::would_block);
  next();
  io.run_for(20ms);
  EXPECT_TRUE(accepted.empty()) << "no one connected, yet the wait ended";
  clients.emplace_back(io).connect(acc.local_endpoint());
  io.restart();
  io.run_for(2s);
  EXPECT_EQ(accepted.size(), 3u);
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
  wait_ready(p.a, tcp::socket::wait_write, Since::eagain, [&](std::error_code ec) { got = ec; });
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
  wait_ready(p.a, tcp::socket::wait_read, Since::eagain, [&](std::error_code ec) { cancelled = ec; });
  wait_ready(p.b, tcp::socket::wait_read, Since::eagain, [&](std::error_code ec) { closed = ec; });
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
        auto wait = [&]() -> awaitable<void> { co_await wait_ready(p.b, tcp::socket::wait_read, Since::eagain, nothrow); };
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
    wait_ready(p.b, tcp::socket::wait_read, Since::eagain, [&called, held](std::error_code) { called = true; });
    io.run_for(10ms);
    EXPECT_EQ(held.use_count(), 2);
  }  // the socket closes first (the wait is cancelled, not run), then the context
  EXPECT_FALSE(called);
  EXPECT_EQ(held.use_count(), 1);
}

// ---- reactor_recv and Since::reactor_read -----------------------------------

// Runs what is ready (polling epoll once even with nothing waiting, so the
// reactor takes the edges there are), or what comes within limit. io may
// have run out of work, and stopped, before.
void pump(asio::io_context& io, std::chrono::milliseconds limit = 0ms) {
  io.restart();
  if (limit > 0ms) {
    io.run_for(limit);
    return;
  }
  auto busy = asio::make_work_guard(io);
  io.poll();
}

// p.a sends text; the reactor takes its edge while nobody waits; p.b reads
// it through the reactor, len bytes at most. What reactor_recv returned.
ssize_t send_and_reactor_recv(asio::io_context& io, Pair& p, const std::string& text, std::size_t len = 64) {
  asio::write(p.a, asio::buffer(text));
  pump(io);
  std::array<char, 64> buf;
  return reactor_recv(p.b, buf.data(), std::min(len, buf.size()));
}

// A read wait on p.b after a reactor read; got is set when it ends.
void wait_after_reactor_read(Pair& p, std::optional<std::error_code>& got) {
  wait_ready(p.b, tcp::socket::wait_read, Since::reactor_read, [&got](std::error_code ec) { got = ec; });
}

std::string recv_text(tcp::socket& s) {
  std::array<char, 64> buf;
  const ssize_t n = ::recv(s.native_handle(), buf.data(), buf.size(), 0);
  return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string();
}

TEST(NetReactorRecv, ReadsLikeRecv) {
  asio::io_context io;
  Pair p(io);
  std::array<char, 64> buf;
  EXPECT_EQ(reactor_recv(p.b, buf.data(), buf.size()), -1);
  EXPECT_EQ(errno, EAGAIN);
  asio::write(p.a, asio::buffer(std::string("hello")));
  ASSERT_EQ(reactor_recv(p.b, buf.data(), buf.size()), 5);
  EXPECT_EQ(std::string(buf.data(), 5), "hello");
  p.a.shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(reactor_recv(p.b, buf.data(), buf.size()), 0);
  pump(io);  // frees the operations
}

// After a read that drained the socket, with no edge since, the wait is
// queued without a re-arm: it does not end before new bytes come, and then
// it does.
TEST(NetReactorRecv, WaitAfterADrainingReadEndsOnTheNextBytes) {
  asio::io_context io;
  Pair p(io);
  ASSERT_EQ(send_and_reactor_recv(io, p, "hello"), 5);
  std::optional<std::error_code> got;
  wait_after_reactor_read(p, got);
  pump(io);
  EXPECT_FALSE(got) << "ended with nothing to read";
  asio::write(p.a, asio::buffer(std::string("more")));
  pump(io, 1000ms);
  ASSERT_TRUE(got);
  EXPECT_FALSE(*got);
  EXPECT_EQ(recv_text(p.b), "more");
}

// Bytes that came after the draining read, whose edge the reactor took while
// nobody waited, must not be lost: the wait ends at once.
TEST(NetReactorRecv, BytesWhoseEdgeWasTakenAreSeen) {
  asio::io_context io;
  Pair p(io);
  ASSERT_EQ(send_and_reactor_recv(io, p, "hello"), 5);
  asio::write(p.a, asio::buffer(std::string("more")));
  pump(io);  // takes the edge of "more"
  std::optional<std::error_code> got;
  wait_after_reactor_read(p, got);
  pump(io, 1000ms);
  ASSERT_TRUE(got) << "the bytes' edge was lost";
  EXPECT_FALSE(*got);
  EXPECT_EQ(recv_text(p.b), "more");
}

// A short read that took the FIN with the bytes left no edge to come for it:
// the wait ends at once, and the next read sees the end of stream.
TEST(NetReactorRecv, AShortReadWithTheFinBehindDoesNotCountAsDraining) {
  asio::io_context io;
  Pair p(io);
  asio::write(p.a, asio::buffer(std::string("hello")));
  p.a.shutdown(tcp::socket::shutdown_send);
  pump(io);  // takes the edge of both
  std::array<char, 64> buf;
  ASSERT_EQ(reactor_recv(p.b, buf.data(), buf.size()), 5);
  std::optional<std::error_code> got;
  wait_after_reactor_read(p, got);
  pump(io, 1000ms);
  ASSERT_TRUE(got) << "the end of stream was lost";
  EXPECT_EQ(::recv(p.b.native_handle(), buf.data(), buf.size(), 0), 0);
}

// A read that filled the buffer may have left bytes: the wait ends at once.
TEST(NetReactorRecv, AFullReadDoesNotCountAsDraining) {
  asio::io_context io;
  Pair p(io);
  ASSERT_EQ(send_and_reactor_recv(io, p, "hello, more", 5), 5);
  std::optional<std::error_code> got;
  wait_after_reactor_read(p, got);
  pump(io, 1000ms);
  ASSERT_TRUE(got);
  EXPECT_EQ(recv_text(p.b), ", more");
}

}  // namespace
}  // namespace snigate::net
