// net/listener: defer_accept, shared and per-worker listeners, on real loopback sockets.
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
    acc = open_listener(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), PortShare::alone, ec);
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

int sockopt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

// The client side's keep-alive is set once on the listener; this checks the
// kernel hands it on to every accepted socket.
TEST(NetListener, AcceptedSocketsInheritKeepAlive) {
  Listening l(false);
  asio::ip::tcp::socket client(l.io);
  client.connect(l.at);
  ASSERT_TRUE(pending(l.acc, 2000));
  const int fd = ::accept(l.acc.native_handle(), nullptr, nullptr);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE), 15);
  EXPECT_EQ(sockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL), 15);
  ::close(fd);
}

TEST(NetListener, ASilentClientIsHandedOverAfterAboutASecond) {
  Listening l(true);
  asio::ip::tcp::socket client(l.io);
  client.connect(l.at);
  // The kernel repeats its SYN-ACK after its initial timeout (1 s); the
  // client's answer completes the accept, data or not.
  EXPECT_TRUE(pending(l.acc, 4000)) << "a silent client must still reach snigate (and its clientHelloTimeout)";
}

TEST(NetListener, ASharedListenerIsOneSocketThatEitherWorkerAccepts) {
  Listening first(false);
  asio::io_context other_io;
  std::error_code ec;
  tcp::acceptor other = share_listener(other_io, first.acc, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_NE(other.native_handle(), first.acc.native_handle()) << "each reactor registers a descriptor of its own";
  EXPECT_EQ(other.local_endpoint(), first.at);

  asio::ip::tcp::socket client(first.io);
  client.connect(first.at);
  ASSERT_TRUE(pending(first.acc, 2000));
  EXPECT_TRUE(pending(other, 0)) << "both workers see the one pending connection";
  tcp::socket sock(other_io);
  tcp::endpoint peer;
  ASSERT_FALSE(accept_now(other, sock, peer));
  EXPECT_EQ(peer, client.local_endpoint());
  tcp::socket none(first.io);
  EXPECT_EQ(accept_now(first.acc, none, peer), asio::error::would_block) << "taken by the other worker";

  // Closing one worker's descriptor (drain) leaves the socket listening for the other.
  first.acc.close();
  asio::ip::tcp::socket late(first.io);
  late.connect(first.at);
  EXPECT_TRUE(pending(other, 2000));
}

TEST(NetListener, HowEachKindOfSocketSharesItsAddress) {
  Listening alone(false);  // two workers or fewer, reusePort off
  asio::io_context io;
  std::error_code ec;
  tcp::acceptor other = open_listener(io, alone.at, PortShare::alone, ec);
  EXPECT_EQ(ec, asio::error::address_in_use) << "a second gateway on the same port is an error, not a silent split";
  other = open_listener(io, alone.at, PortShare::join, ec);
  EXPECT_EQ(ec, asio::error::address_in_use);

  // More workers: the first socket is bound alone, the next pairs' join it.
  const tcp::endpoint any_port(asio::ip::make_address("127.0.0.1"), 0);
  tcp::acceptor first = open_listener(io, any_port, PortShare::first, ec);
  ASSERT_FALSE(ec) << ec.message();
  tcp::acceptor second = open_listener(io, first.local_endpoint(), PortShare::join, ec);
  EXPECT_FALSE(ec) << ec.message();
  other = open_listener(io, first.local_endpoint(), PortShare::alone, ec);
  EXPECT_EQ(ec, asio::error::address_in_use) << "another gateway without reusePort is still refused";
  other = open_listener(io, first.local_endpoint(), PortShare::first, ec);
  EXPECT_EQ(ec, asio::error::address_in_use) << "and so is one with more workers";

  // reusePort: every socket joins.
  tcp::acceptor a = open_listener(io, any_port, PortShare::join, ec);
  ASSERT_FALSE(ec) << ec.message();
  tcp::acceptor b = open_listener(io, a.local_endpoint(), PortShare::join, ec);
  EXPECT_FALSE(ec) << ec.message();
}

}  // namespace
}  // namespace snigate::net
