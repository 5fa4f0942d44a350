// net/recv_drained: whether a read left a socket drained, FIN included, on
// real loopback sockets.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>

#include "net/recv_drained.hpp"

namespace snigate::net {
namespace {

using namespace std::chrono_literals;

// A connected pair: client, and the server side accepted from a listener
// that has TCP_INQ on when inq is set (as snigate's listeners do).
struct Pair {
  explicit Pair(bool inq) {
    const int l = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof at;
    EXPECT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
    EXPECT_EQ(::listen(l, 1), 0);
    EXPECT_EQ(::getsockname(l, reinterpret_cast<sockaddr*>(&at), &len), 0);
    if (inq) enable_read_left(l);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
    server = ::accept(l, nullptr, nullptr);
    ::close(l);
  }
  ~Pair() {
    ::close(client);
    ::close(server);
  }
  // Sends text, then (if fin) the FIN, and gives loopback a moment to
  // deliver both before the read under test.
  void send(const std::string& text, bool fin = false) const {
    ASSERT_EQ(::send(client, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
    if (fin) ::shutdown(client, SHUT_WR);
    std::this_thread::sleep_for(20ms);
  }
  int client = -1;
  int server = -1;
};

TEST(NetRecvDrained, AllBytesReadAndNoFinIsDrained) {
  Pair p(true);
  p.send("hello");
  std::array<char, 64> buf;
  bool drained = false;
  ASSERT_EQ(recv_drained(p.server, buf.data(), buf.size(), drained), 5);
  EXPECT_EQ(std::string(buf.data(), 5), "hello");
  EXPECT_TRUE(drained);
}

// The short read takes the FIN with the bytes; only the next read reports
// it, and no new edge will.
TEST(NetRecvDrained, ShortReadWithTheFinBehindIsNotDrained) {
  Pair p(true);
  p.send("hello", true);
  std::array<char, 64> buf;
  bool drained = true;
  ASSERT_EQ(recv_drained(p.server, buf.data(), buf.size(), drained), 5);
  EXPECT_FALSE(drained);
  EXPECT_EQ(recv_drained(p.server, buf.data(), buf.size(), drained), 0);
  EXPECT_FALSE(drained);
}

TEST(NetRecvDrained, ReadThatLeftBytesIsNotDrained) {
  Pair p(true);
  p.send("hello, more");
  std::array<char, 64> buf;
  bool drained = true;
  ASSERT_EQ(recv_drained(p.server, buf.data(), 5, drained), 5);
  EXPECT_FALSE(drained);
  ASSERT_EQ(recv_drained(p.server, buf.data(), buf.size(), drained), 6);
  EXPECT_TRUE(drained);
}

TEST(NetRecvDrained, WithoutTcpInqNothingIsDrained) {
  Pair p(false);
  p.send("hello");
  std::array<char, 64> buf;
  bool drained = true;
  ASSERT_EQ(recv_drained(p.server, buf.data(), buf.size(), drained), 5);
  EXPECT_FALSE(drained);
}

TEST(NetRecvDrained, NothingToReadSaysEagain) {
  Pair p(true);
  ASSERT_EQ(::fcntl(p.server, F_SETFL, O_NONBLOCK), 0);
  std::array<char, 64> buf;
  bool drained = true;
  EXPECT_EQ(recv_drained(p.server, buf.data(), buf.size(), drained), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_FALSE(drained);
}

}  // namespace
}  // namespace snigate::net
