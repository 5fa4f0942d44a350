// net/listener: defer_accept on a real loopback listener.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/listener.hpp"

namespace snigate::net {
namespace {

// Whether the listener has a connection to accept within ms.
bool pending(tcp::acceptor& acc, int ms) {
  pollfd p{acc.native_handle(), POLLIN, 0};
  return ::poll(&p, 1, ms) == 1;
}

struct Listening {
  asio::io_context io;
  tcp::acceptor acc{io};
  tcp::endpoint at;
  explicit Listening(bool defer) {
    std::error_code ec;
    acc = open_listener(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), ec);
    EXPECT_FALSE(ec) << ec.message();
    at = acc.local_endpoint();
    defer_accept(acc, defer);
  }
};

TEST(NetListener, DeferredAcceptWaitsForTheFirstBytes) {
  Listening l(true);
  asio::ip::tcp::socket client(l.io);
  client.connect(l.at);  // the handshake completes on the client's side
  EXPECT_FALSE(pending(l.acc, 200)) << "a silent client must not be handed over yet";
  const char hello[] = "\x16\x03\x01";
  ASSERT_EQ(::send(client.native_handle(), hello, 3, 0), 3);
  ASSERT_TRUE(pending(l.acc, 2000));
  const int fd = ::accept(l.acc.native_handle(), nullptr, nullptr);
  ASSERT_GE(fd, 0);
  char got[3];
  EXPECT_EQ(::recv(fd, got, sizeof got, MSG_DONTWAIT), 3) << "the bytes are there at accept";
  ::close(fd);
}

TEST(NetListener, WithoutDeferASilentClientIsAcceptedAtOnce) {
  Listening l(true);
  defer_accept(l.acc, false);  // a reload that adds a server-first router turns it off again
  int secs = -1;
  socklen_t len = sizeof secs;
  ASSERT_EQ(::getsockopt(l.acc.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, &len), 0);
  EXPECT_EQ(secs, 0);
  asio::ip::tcp::socket client(l.io);
  client.connect(l.at);
  EXPECT_TRUE(pending(l.acc, 2000));
}

TEST(NetListener, ASilentClientIsHandedOverAfterAboutASecond) {
  Listening l(true);
  asio::ip::tcp::socket client(l.io);
  client.connect(l.at);
  // The kernel repeats its SYN-ACK after its initial timeout (1 s); the
  // client's answer completes the accept, data or not.
  EXPECT_TRUE(pending(l.acc, 4000)) << "a silent client must still reach snigate (and its clientHelloTimeout)";
}

}  // namespace
}  // namespace snigate::net
