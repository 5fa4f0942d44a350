// net/dial (HostPort, connecting), net/listener parse_listen_address, and
// net/relay between real loopback sockets.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "net/dial.hpp"
#include "net/listener.hpp"
#include "net/relay.hpp"

namespace snigate::net {
namespace {

// ---- HostPort --------------------------------------------------------------

std::optional<HostPort> parse(std::string_view text) {
  HostPort hp;
  if (!HostPort::parse(text, hp)) return std::nullopt;
  return hp;
}

TEST(NetDial, HostAndPort) {
  auto hp = parse("db.example.com:5432");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "db.example.com");
  EXPECT_EQ(hp->port, 5432);
  hp = parse("127.0.0.1:1");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 1);
  hp = parse("h:65535");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->port, 65535);
}

TEST(NetDial, BracketedIpv6) {
  auto hp = parse("[::1]:443");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 443);
  hp = parse("[2001:db8::17]:8080");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "2001:db8::17");
  EXPECT_EQ(hp->port, 8080);
}

TEST(NetDial, AddressIsParsedOnce) {
  auto hp = parse("127.0.0.1:80");
  ASSERT_TRUE(hp && hp->ip);
  EXPECT_EQ(hp->ip->to_string(), "127.0.0.1");
  hp = parse("[::1]:80");
  ASSERT_TRUE(hp && hp->ip);
  EXPECT_TRUE(hp->ip->is_v6());
  hp = parse("db.example.com:80");
  ASSERT_TRUE(hp);
  EXPECT_FALSE(hp->ip);  // a name: resolved when dialled
}

TEST(NetDial, BadPorts) {
  for (const char* text : {"h:0", "h:65536", "h:99999999999", "h:abc", "h:", "h:-1", "h:+80", "h:80 ", "h: 80",
                           "h:8o", "[::1]:0", "[::1]:65536", "[::1]:x"})
    EXPECT_FALSE(parse(text)) << text;
}

TEST(NetDial, MalformedAddresses) {
  for (const char* text : {"", "h", "80", "::1:443", "2001:db8::1:443", "[::1]", "[::1]443", "[::1", "[::1]:",
                           "::1"})
    EXPECT_FALSE(parse(text)) << text;
}

TEST(NetDial, EmptyHostIsAccepted) {
  // ":80" parses with an empty host (the listener relies on the "every
  // address" form ":port"); dialing it resolves to the local host.
  auto hp = parse(":80");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "");
  EXPECT_EQ(hp->port, 80);
}

TEST(NetDial, FailedParseLeavesOutputAlone) {
  HostPort hp{"keep.example.com", 7, {}};
  EXPECT_FALSE(HostPort::parse("bad:0", hp));
  EXPECT_EQ(hp.host, "keep.example.com");
  EXPECT_EQ(hp.port, 7);
}

TEST(NetDial, ToStringRoundTrips) {
  EXPECT_EQ((HostPort{"db.example.com", 5432, {}}.to_string()), "db.example.com:5432");
  EXPECT_EQ((HostPort{"::1", 443, {}}.to_string()), "[::1]:443");
  EXPECT_EQ((HostPort{"127.0.0.1", 1, {}}.to_string()), "127.0.0.1:1");
  for (const char* text : {"db.example.com:5432", "[2001:db8::17]:8080", "10.1.2.3:65535"}) {
    auto hp = parse(text);
    ASSERT_TRUE(hp) << text;
    EXPECT_EQ(hp->to_string(), text);
  }
}

// ---- parse_listen_address --------------------------------------------------

std::optional<tcp::endpoint> listen_at(std::string_view text, std::string* error_out = nullptr) {
  tcp::endpoint ep;
  std::string error;
  const bool ok = parse_listen_address(text, ep, error);
  if (error_out) *error_out = error;
  if (!ok) {
    EXPECT_FALSE(error.empty()) << text;
    return std::nullopt;
  }
  return ep;
}

TEST(NetDial, ListenPortOnlyMeansEveryAddress) {
  auto ep = listen_at(":8443");
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->address().is_v6());
  EXPECT_TRUE(ep->address().is_unspecified());
  EXPECT_EQ(ep->port(), 8443);
}

TEST(NetDial, ListenOnAddresses) {
  auto ep = listen_at("127.0.0.1:1");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->address(), asio::ip::make_address("127.0.0.1"));
  EXPECT_EQ(ep->port(), 1);

  ep = listen_at("localhost:80");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->address(), asio::ip::make_address("127.0.0.1"));
  EXPECT_EQ(ep->port(), 80);

  ep = listen_at("[::1]:443");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->address(), asio::ip::make_address("::1"));
  EXPECT_EQ(ep->port(), 443);

  ep = listen_at("0.0.0.0:8080");
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->address().is_v4());
  EXPECT_TRUE(ep->address().is_unspecified());
}

TEST(NetDial, BadListenAddresses) {
  std::string error;
  EXPECT_FALSE(listen_at("8443", &error));
  EXPECT_NE(error.find("\"8443\""), std::string::npos) << error;
  EXPECT_FALSE(listen_at(":0"));
  EXPECT_FALSE(listen_at(":70000"));
  EXPECT_FALSE(listen_at(":"));
  EXPECT_FALSE(listen_at("::1:443"));
  EXPECT_FALSE(listen_at("[::1]"));
  EXPECT_FALSE(listen_at("example.com:443", &error));
  EXPECT_NE(error.find("example.com"), std::string::npos) << error;
  EXPECT_NE(error.find("not an IP address"), std::string::npos) << error;
  EXPECT_FALSE(listen_at("256.1.1.1:80"));
}

// ---- dial ------------------------------------------------------------------

// Runs dial() to `to` on a fresh io_context, with first bytes to send.
Dialed dial_now(asio::io_context& io, tcp::socket& sock, const std::string& to, std::span<const std::uint8_t> first = {},
                Duration keep_alive = Duration(0)) {
  HostPort hp;
  EXPECT_TRUE(HostPort::parse(to, hp)) << to;
  std::optional<Dialed> out;
  asio::co_spawn(io, dial(sock, hp, Duration(2000), first, keep_alive), [&](std::exception_ptr, Dialed d) { out = d; });
  io.run_for(std::chrono::seconds(3));
  EXPECT_TRUE(out) << "dial did not finish";
  return out.value_or(Dialed{asio::error::timed_out});
}

TEST(NetDial, ConnectsToALoopbackListenerAndTheSocketWorks) {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket sock(io);
  const std::string to = "127.0.0.1:" + std::to_string(acc.local_endpoint().port());
  const Dialed d = dial_now(io, sock, to);
  ASSERT_FALSE(d.ec) << d.ec.message();
  EXPECT_EQ(d.sent, 0u);
  ASSERT_TRUE(sock.is_open());
  tcp::socket peer(io);
  acc.accept(peer);
  asio::write(sock, asio::buffer(std::string("ping")));
  std::array<char, 4> got{};
  asio::read(peer, asio::buffer(got));
  EXPECT_EQ(std::string(got.data(), got.size()), "ping");
}

int sockopt(tcp::socket& sock, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(sock.native_handle(), level, name, &v, &len), 0);
  return v;
}

// dialKeepAlive, to an address and to a name that is resolved first; zero: off.
TEST(NetDial, SetsKeepAliveOnServerConnections) {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string port = std::to_string(acc.local_endpoint().port());
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    tcp::socket sock(io);
    ASSERT_FALSE(dial_now(io, sock, host + ":" + port, {}, Duration(20'500)).ec) << host;
    EXPECT_EQ(sockopt(sock, SOL_SOCKET, SO_KEEPALIVE), 1) << host;
    EXPECT_EQ(sockopt(sock, IPPROTO_TCP, TCP_KEEPIDLE), 21) << host << ": rounded up to whole seconds";
    EXPECT_EQ(sockopt(sock, IPPROTO_TCP, TCP_KEEPINTVL), 21) << host;
    io.restart();
  }
  tcp::socket off(io);
  ASSERT_FALSE(dial_now(io, off, "127.0.0.1:" + port).ec);
  EXPECT_EQ(sockopt(off, SOL_SOCKET, SO_KEEPALIVE), 0);
}

// A refused connect must be reported as refused, not taken for a connect
// that finished at once.
TEST(NetDial, RefusedIsAnErrorAndTheSocketIsClosed) {
  asio::io_context io;
  std::uint16_t port = 0;
  {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acc.local_endpoint().port();
  }  // closed: nothing listens there now
  tcp::socket sock(io);
  const std::error_code ec = dial_now(io, sock, "127.0.0.1:" + std::to_string(port)).ec;
  EXPECT_EQ(ec, std::error_code(ECONNREFUSED, std::system_category())) << ec.message();
  EXPECT_FALSE(sock.is_open());
}

// First bytes go out with the connect, and the server gets them first.
TEST(NetDial, FirstBytesGoOutWithTheConnect) {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket sock(io);
  const std::string hello = "hello, server";
  const std::span first(reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size());
  const Dialed d = dial_now(io, sock, "127.0.0.1:" + std::to_string(acc.local_endpoint().port()), first);
  ASSERT_FALSE(d.ec) << d.ec.message();
  EXPECT_EQ(d.sent, hello.size());
  tcp::socket peer(io);
  acc.accept(peer);
  asio::write(sock, asio::buffer(std::string("!")));
  std::array<char, 14> got{};
  asio::read(peer, asio::buffer(got));
  EXPECT_EQ(std::string(got.data(), got.size()), hello + "!");
}

// The send that asks whether the connect is through must not take a refusal
// for a connection.
TEST(NetDial, RefusedWithFirstBytesIsAnErrorAndNothingCountsAsSent) {
  asio::io_context io;
  std::uint16_t port = 0;
  {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acc.local_endpoint().port();
  }
  tcp::socket sock(io);
  const std::uint8_t first[] = {1, 2, 3};
  const Dialed d = dial_now(io, sock, "127.0.0.1:" + std::to_string(port), first);
  EXPECT_EQ(d.ec, std::error_code(ECONNREFUSED, std::system_category())) << d.ec.message();
  EXPECT_EQ(d.sent, 0u);
  EXPECT_FALSE(sock.is_open());
}

// ---- relay -----------------------------------------------------------------

using namespace std::chrono_literals;

// client_app <-> client_gw [relay] server_gw <-> server_app, on loopback.
class NetRelay : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_app.connect(acc.local_endpoint());
    acc.accept(client_gw);
    server_gw.connect(acc.local_endpoint());
    acc.accept(server_app);
    prepare(client_gw);
    prepare(server_gw);
  }

  // Runs the relay and `script` (the two applications) together; returns the
  // relay's result, or nullopt if it did not end within the limit.
  template <class Script>
  std::optional<RelayResult> run(RelayLimits limits, Script script) {
    std::optional<RelayResult> result;
    bool script_done = false;
    started = Clock::now();
    start_relay({std::move(client_gw), nullptr}, {std::move(server_gw), nullptr}, limits,
                [&](const RelayResult& r) {
                  if (result) ADD_FAILURE() << "relay ended twice";
                  result = r;
                  ended = Clock::now();
                },
                std::move(up_filter));
    asio::co_spawn(io, script(), [&](std::exception_ptr e) {
      if (e) ADD_FAILURE() << "script threw";
      script_done = true;
    });
    io.run_for(2s);
    EXPECT_TRUE(script_done) << "the applications did not finish";
    return result;
  }

  // Reads exactly n bytes.
  static awaitable<std::string> read_n(tcp::socket& s, std::size_t n) {
    std::string buf(n, '\0');
    auto [ec, got] = co_await asio::async_read(s, asio::buffer(buf), nothrow);
    EXPECT_FALSE(ec) << ec.message();
    buf.resize(got);
    co_return buf;
  }
  static awaitable<void> write(tcp::socket& s, std::string text) {
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(text), nothrow);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(n, text.size());
  }
  // True when the next read sees EOF (no more bytes).
  static awaitable<bool> at_eof(tcp::socket& s) {
    std::array<char, 64> buf;
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), nothrow);
    EXPECT_EQ(n, 0u) << std::string(buf.data(), n);
    co_return ec == asio::error::eof;
  }

  Duration elapsed() const { return std::chrono::duration_cast<Duration>(ended - started); }

  asio::io_context io;
  tcp::socket client_app{io}, client_gw{io}, server_gw{io}, server_app{io};
  Clock::time_point started, ended;
  std::unique_ptr<UpFilter> up_filter;  // for run()'s relay
};

// Holds the client's bytes back until a line is whole, then sends the lines
// twice, from its own buffer.
struct LineDoubler : UpFilter {
  std::string pending, out;
  std::span<const std::uint8_t> pass(std::span<const std::uint8_t> chunk) override {
    pending.append(chunk.begin(), chunk.end());
    const std::size_t end = pending.rfind('\n');
    if (end == std::string::npos) return {};
    const std::string lines = pending.substr(0, end + 1);
    pending.erase(0, end + 1);
    out = lines + lines;
    return {reinterpret_cast<const std::uint8_t*>(out.data()), out.size()};
  }
};

TEST_F(NetRelay, UpFilterRewritesAndHoldsBackOnlyTheClientsBytes) {
  up_filter = std::make_unique<LineDoubler>();
  auto result = run(RelayLimits{Duration(5000), Duration(-1)}, [&]() -> awaitable<void> {
    co_await write(client_app, "ab");
    co_await write(client_app, "c\nd");
    EXPECT_EQ(co_await read_n(server_app, 8), "abc\nabc\n");
    co_await write(client_app, "\n");
    EXPECT_EQ(co_await read_n(server_app, 4), "d\nd\n");
    co_await write(server_app, "down");  // no line end: the other direction is not filtered
    EXPECT_EQ(co_await read_n(client_app, 4), "down");
    client_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(server_app));
    server_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(client_app));
  });
  ASSERT_TRUE(result) << "relay did not end";
  EXPECT_EQ(result->end, RelayEnd::closed) << to_string(result->end) << " " << result->detail;
  EXPECT_EQ(result->up, 6u);  // what the client sent, not what the server got
  EXPECT_EQ(result->down, 4u);
}

TEST_F(NetRelay, BytesPassBothWaysAndHalfCloseIsPassedOn) {
  auto result = run(RelayLimits{Duration(5000), Duration(-1)}, [&]() -> awaitable<void> {
    co_await write(client_app, "hello");
    EXPECT_EQ(co_await read_n(server_app, 5), "hello");
    co_await write(server_app, "world!");
    EXPECT_EQ(co_await read_n(client_app, 6), "world!");
    // The client is done sending: the server sees EOF but may still answer.
    client_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(server_app));
    co_await write(server_app, "late answer");
    EXPECT_EQ(co_await read_n(client_app, 11), "late answer");
    server_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(client_app));
  });
  ASSERT_TRUE(result) << "relay did not end";
  EXPECT_EQ(result->end, RelayEnd::closed) << to_string(result->end) << " " << result->detail;
  EXPECT_EQ(result->up, 5u);
  EXPECT_EQ(result->down, 17u);
  EXPECT_TRUE(result->detail.empty()) << result->detail;
  EXPECT_EQ(result->spliced, 0u) << "short messages are copied, not spliced";
}

// A client that sent its bytes and its FIN before the relay started (as one
// that writes and half-closes at once does): the relay's first wait on it
// must still see both.
TEST_F(NetRelay, BytesAndFinSentBeforeTheStartArePassedOn) {
  asio::write(client_app, asio::buffer(std::string_view("early")));
  client_app.shutdown(tcp::socket::shutdown_send);
  auto result = run(RelayLimits{Duration(5000), Duration(-1)}, [&]() -> awaitable<void> {
    EXPECT_EQ(co_await read_n(server_app, 5), "early");
    EXPECT_TRUE(co_await at_eof(server_app));
    server_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(client_app));
  });
  ASSERT_TRUE(result) << "relay did not end";
  EXPECT_EQ(result->end, RelayEnd::closed) << to_string(result->end) << " " << result->detail;
  EXPECT_EQ(result->up, 5u);
  EXPECT_EQ(result->down, 0u);
}

TEST_F(NetRelay, LargeTransferIsCountedExactly) {
  const std::size_t size = 1 << 20;  // more than a pipe holds
  std::string payload(size, '\0');
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 7 + i / 251);
  auto result = run(RelayLimits{Duration(5000), Duration(-1)}, [&]() -> awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto send = [&]() -> awaitable<void> {
      co_await write(client_app, payload);
      client_app.shutdown(tcp::socket::shutdown_send);
    };
    auto receive = [&]() -> awaitable<void> {
      const std::string got = co_await read_n(server_app, size);
      EXPECT_TRUE(got == payload) << "payload corrupted";
      EXPECT_TRUE(co_await at_eof(server_app));
      server_app.shutdown(tcp::socket::shutdown_send);
      EXPECT_TRUE(co_await at_eof(client_app));
    };
    co_await (send() && receive());
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::closed) << result->detail;
  EXPECT_EQ(result->up, size);
  EXPECT_EQ(result->down, 0u);
  EXPECT_GT(result->spliced, size / 2) << "a bulk stream goes through a pipe";
}

// A conversation that turns from short messages to bulk and back: every
// byte arrives once and in order whichever way each read took.
TEST_F(NetRelay, ShortThenBulkThenShortIsExact) {
  const std::size_t size = 256 * 1024;
  std::string bulk(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bulk[i] = static_cast<char>(i * 13 + i / 509);
  auto result = run(RelayLimits{Duration(5000), Duration(-1)}, [&]() -> awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    co_await write(client_app, "SELECT 1");
    EXPECT_EQ(co_await read_n(server_app, 8), "SELECT 1");
    auto send = [&]() -> awaitable<void> { co_await write(server_app, bulk); };
    auto receive = [&]() -> awaitable<void> { EXPECT_TRUE(co_await read_n(client_app, size) == bulk) << "bulk corrupted"; };
    co_await (send() && receive());
    for (int i = 0; i < 3; ++i) {
      const std::string q = "q" + std::to_string(i), a = "answer " + std::to_string(i);
      co_await write(client_app, q);
      EXPECT_EQ(co_await read_n(server_app, q.size()), q);
      co_await write(server_app, a);
      EXPECT_EQ(co_await read_n(client_app, a.size()), a);
    }
    client_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(server_app));
    server_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(client_app));
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::closed) << result->detail;
  EXPECT_EQ(result->up, 8u + 3 * 2);
  EXPECT_EQ(result->down, size + 3 * 8);
  EXPECT_GT(result->spliced, 0u);
  EXPECT_LT(result->spliced, size);  // the first read of the bulk was copied
}

TEST_F(NetRelay, ServerClosingFirstWorksToo) {
  auto result = run(RelayLimits{Duration(5000), Duration(-1)}, [&]() -> awaitable<void> {
    co_await write(server_app, "banner\n");  // a server-first protocol
    EXPECT_EQ(co_await read_n(client_app, 7), "banner\n");
    server_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(client_app));
    co_await write(client_app, "QUIT\n");
    EXPECT_EQ(co_await read_n(server_app, 5), "QUIT\n");
    client_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(server_app));
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::closed) << result->detail;
  EXPECT_EQ(result->up, 5u);
  EXPECT_EQ(result->down, 7u);
}

TEST_F(NetRelay, IdleTimeoutEndsTheRelay) {
  auto result = run(RelayLimits{Duration(100), Duration(-1)}, [&]() -> awaitable<void> {
    co_await write(client_app, "ping");
    EXPECT_EQ(co_await read_n(server_app, 4), "ping");
    // Then silence: the relay closes both sides.
    EXPECT_TRUE(co_await at_eof(client_app));
    EXPECT_TRUE(co_await at_eof(server_app));
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::idle_timeout) << to_string(result->end);
  EXPECT_EQ(result->up, 4u);
  EXPECT_EQ(result->down, 0u);
  EXPECT_GE(elapsed(), Duration(100));
  EXPECT_LT(elapsed(), Duration(1000));
}

TEST_F(NetRelay, IdleTimeoutZeroMeansNoIdleLimit) {
  auto result = run(RelayLimits{Duration(0), Duration(-1)}, [&]() -> awaitable<void> {
    co_await write(client_app, "ping");
    EXPECT_EQ(co_await read_n(server_app, 4), "ping");
    co_await sleep_for(Duration(300));  // silence, which a zero limit must not end
    co_await write(server_app, "pong");
    EXPECT_EQ(co_await read_n(client_app, 4), "pong");
    client_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(server_app));
    server_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(client_app));
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::closed) << to_string(result->end);
  EXPECT_EQ(result->up, 4u);
  EXPECT_EQ(result->down, 4u);
  EXPECT_GE(elapsed(), Duration(300));
}

// With no idle limit the timer is not running when the first end of stream
// comes; terminationDelay must still start it.
TEST_F(NetRelay, IdleTimeoutZeroKeepsTerminationDelay) {
  auto result = run(RelayLimits{Duration(0), Duration(50)}, [&]() -> awaitable<void> {
    co_await write(client_app, "bye");
    client_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_EQ(co_await read_n(server_app, 3), "bye");
    EXPECT_TRUE(co_await at_eof(server_app));
    EXPECT_TRUE(co_await at_eof(client_app));
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::termination_delay) << to_string(result->end);
  EXPECT_GE(elapsed(), Duration(50));
  EXPECT_LT(elapsed(), Duration(1000));
}

TEST_F(NetRelay, TerminationDelayEndsTheRelayAfterAHalfClose) {
  auto result = run(RelayLimits{Duration(5000), Duration(50)}, [&]() -> awaitable<void> {
    co_await write(client_app, "bye");
    client_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_EQ(co_await read_n(server_app, 3), "bye");
    EXPECT_TRUE(co_await at_eof(server_app));
    // The server never closes its side; after terminationDelay the relay does.
    EXPECT_TRUE(co_await at_eof(client_app));
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::termination_delay) << to_string(result->end);
  EXPECT_EQ(result->up, 3u);
  EXPECT_GE(elapsed(), Duration(50));
  EXPECT_LT(elapsed(), Duration(1000));  // well before the idle timeout
}

TEST_F(NetRelay, TerminationDelayIsNotIdleTimeout) {
  // Traffic after the half-close does not extend terminationDelay.
  auto result = run(RelayLimits{Duration(5000), Duration(150)}, [&]() -> awaitable<void> {
    client_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(server_app));
    for (int i = 0; i < 3; ++i) {
      co_await write(server_app, "x");
      EXPECT_EQ(co_await read_n(client_app, 1), "x");
    }
    EXPECT_TRUE(co_await at_eof(client_app));
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::termination_delay) << to_string(result->end);
  EXPECT_EQ(result->down, 3u);
  EXPECT_LT(elapsed(), Duration(1000));
}

TEST_F(NetRelay, ActivityPostponesTheIdleTimeout) {
  // Six exchanges 50ms apart last longer than the 200ms idle limit; none of
  // the gaps does.
  auto result = run(RelayLimits{Duration(200), Duration(-1)}, [&]() -> awaitable<void> {
    for (int i = 0; i < 6; ++i) {
      co_await sleep_for(Duration(50));
      co_await write(client_app, "p");
      EXPECT_EQ(co_await read_n(server_app, 1), "p");
    }
    client_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(server_app));
    server_app.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(co_await at_eof(client_app));
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::closed) << to_string(result->end);
  EXPECT_EQ(result->up, 6u);
  EXPECT_GE(elapsed(), Duration(300));
}

TEST_F(NetRelay, ResetByServerEndsTheRelayAsReset) {
  auto result = run(RelayLimits{Duration(5000), Duration(-1)}, [&]() -> awaitable<void> {
    co_await write(client_app, "hi");
    EXPECT_EQ(co_await read_n(server_app, 2), "hi");
    server_app.set_option(asio::socket_base::linger(true, 0));
    server_app.close();  // RST
    // The relay closes the client's side too.
    std::array<char, 16> buf;
    auto [ec, n] = co_await client_app.async_read_some(asio::buffer(buf), nothrow);
    EXPECT_EQ(n, 0u);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::reset) << to_string(result->end);
  EXPECT_NE(result->detail.find("server"), std::string::npos) << result->detail;
  EXPECT_EQ(result->up, 2u);
  EXPECT_LT(elapsed(), Duration(1000));
}

// Segments a socket has received so far: TCP_INFO's tcpi_segs_in (Linux
// 4.2), which glibc's struct tcp_info stops short of; the kernel's layout
// goes on with four 64-bit counters and tcpi_segs_out after glibc's last field.
std::uint32_t segments_in(tcp::socket& s) {
  struct {
    tcp_info glibc;
    std::uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
    std::uint32_t segs_out, segs_in;
  } info{};
  static_assert(offsetof(decltype(info), pacing_rate) == sizeof(tcp_info));
  socklen_t len = sizeof info;
  EXPECT_EQ(::getsockopt(s.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &len), 0);
  EXPECT_EQ(len, sizeof info) << "no tcpi_segs_in from this kernel";
  return info.segs_in;
}

// A server that answers and closes: the answer and the FIN reach the client
// in one segment, not two (the relay reads the FIN before it sends, sends
// with MSG_MORE, and the half-close puts the FIN on that segment).
TEST_F(NetRelay, AnAnswerAndTheEndThatFollowsItLeaveInOneSegment) {
  asio::write(server_app, asio::buffer(std::string_view("HTTP/1.0 200 OK\r\n")));
  server_app.shutdown(tcp::socket::shutdown_send);
  const std::uint32_t before = segments_in(client_app);
  std::uint32_t answer_segments = 0;
  auto result = run(RelayLimits{Duration(5000), Duration(-1)}, [&]() -> awaitable<void> {
    EXPECT_EQ(co_await read_n(client_app, 17), "HTTP/1.0 200 OK\r\n");
    EXPECT_TRUE(co_await at_eof(client_app));
    answer_segments = segments_in(client_app) - before;
    client_app.shutdown(tcp::socket::shutdown_send);
  });
  ASSERT_TRUE(result) << "relay did not end";
  EXPECT_EQ(result->end, RelayEnd::closed) << to_string(result->end) << " " << result->detail;
  EXPECT_EQ(result->down, 17u);
  EXPECT_EQ(answer_segments, 1u) << "the answer and the FIN came apart";
}

// The read ahead of the send meets the reset: the answer still reaches the
// client, and the relay still ends as a reset, not as a clean close.
TEST_F(NetRelay, AResetRightAfterAnAnswerIsStillAReset) {
  asio::write(server_app, asio::buffer(std::string_view("bye")));
  server_app.set_option(asio::socket_base::linger(true, 0));
  server_app.close();  // RST, after the bytes
  auto result = run(RelayLimits{Duration(5000), Duration(-1)}, [&]() -> awaitable<void> {
    EXPECT_EQ(co_await read_n(client_app, 3), "bye");
    std::array<char, 16> buf;
    auto [ec, n] = co_await client_app.async_read_some(asio::buffer(buf), nothrow);
    EXPECT_EQ(n, 0u);
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->end, RelayEnd::reset) << to_string(result->end) << " " << result->detail;
  EXPECT_NE(result->detail.find("server read"), std::string::npos) << result->detail;
  EXPECT_EQ(result->down, 3u);
}

TEST(NetRelayNames, ToString) {
  EXPECT_STREQ(to_string(RelayEnd::closed), "closed");
  EXPECT_STREQ(to_string(RelayEnd::idle_timeout), "idle_timeout");
  EXPECT_STREQ(to_string(RelayEnd::termination_delay), "termination_delay");
  EXPECT_STREQ(to_string(RelayEnd::reset), "reset");
}

}  // namespace
}  // namespace snigate::net
