// session/mysql_auth: capability negotiation and the authentication relay
// state machine, fed recorded packet sequences.
#include <gtest/gtest.h>

#include <vector>

#include "session/mysql_auth.hpp"

namespace snigate::session::mysql {
namespace {

using B = std::vector<std::uint8_t>;

// MariaDB 10.11's greeting capabilities (low 32 bits), as in data/mysql/mariadb_greeting.bin.
constexpr std::uint64_t kMariaDb = 0x81fffffe;
// What the Debian mariadb 10.11 client and PyMySQL send (typical values).
constexpr std::uint64_t kClient = wm::CLIENT_LONG_PASSWORD | wm::CLIENT_LONG_FLAG | wm::CLIENT_PROTOCOL_41 |
                                  wm::CLIENT_SECURE_CONNECTION | wm::CLIENT_PLUGIN_AUTH | wm::CLIENT_MULTI_RESULTS |
                                  wm::CLIENT_TRANSACTIONS | wm::CLIENT_CONNECT_ATTRS | wm::CLIENT_SSL |
                                  wm::CLIENT_SESSION_TRACK | wm::CLIENT_DEPRECATE_EOF | wm::CLIENT_CONNECT_WITH_DB;

TEST(SessionMysqlNegotiate, KeepsTheClientsFormatFlagsAndTheServersTls) {
  const auto plain = negotiate(kClient, kMariaDb, true, false);
  ASSERT_TRUE(plain.error.empty()) << plain.error;
  EXPECT_EQ(plain.caps & wm::kWireFormatCaps, kClient & wm::kWireFormatCaps);
  EXPECT_FALSE(plain.caps & wm::CLIENT_SSL);  // the client's SSL was with snigate, not the server
  EXPECT_TRUE(plain.caps & wm::CLIENT_CONNECT_WITH_DB);
  const auto tls = negotiate(kClient, kMariaDb, false, true);
  ASSERT_TRUE(tls.error.empty()) << tls.error;
  EXPECT_TRUE(tls.caps & wm::CLIENT_SSL);
  EXPECT_FALSE(tls.caps & wm::CLIENT_CONNECT_WITH_DB);  // no database named
}

TEST(SessionMysqlNegotiate, RefusesAFormatFlagTheServerLacks) {
  const auto n = negotiate(kClient, kMariaDb & ~wm::CLIENT_DEPRECATE_EOF, false, false);
  EXPECT_NE(n.error.find("CLIENT_DEPRECATE_EOF"), std::string::npos) << n.error;
}

TEST(SessionMysqlNegotiate, NeverCompressionNorMariaDbExtensions) {
  const std::uint64_t client = kClient | wm::CLIENT_COMPRESS | wm::MARIADB_CLIENT_PROGRESS;
  const auto n = negotiate(client, kMariaDb | wm::CLIENT_COMPRESS | wm::MARIADB_CLIENT_PROGRESS, false, false);
  ASSERT_TRUE(n.error.empty()) << n.error;
  EXPECT_FALSE(n.caps & wm::CLIENT_COMPRESS);
  EXPECT_FALSE(n.caps & wm::MARIADB_CLIENT_PROGRESS);
  EXPECT_TRUE(n.caps & wm::CLIENT_LONG_PASSWORD);  // "MySQL" client to MariaDB: no extended caps
}

TEST(SessionMysqlNegotiate, TlsServerThatOffersNoTlsIsRefused) {
  const auto n = negotiate(kClient, kMariaDb & ~wm::CLIENT_SSL, false, true);
  EXPECT_NE(n.error.find("CLIENT_SSL"), std::string::npos) << n.error;
}

TEST(SessionMysqlNegotiate, PreFourOneServerIsRefused) {
  const auto n = negotiate(kClient, kMariaDb & ~wm::CLIENT_PLUGIN_AUTH, false, false);
  EXPECT_NE(n.error.find("CLIENT_PLUGIN_AUTH"), std::string::npos) << n.error;
}

// Packets below are payloads as recorded from servers (framing removed).
const B kOk{0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
const B kErr1045{0xff, 0x15, 0x04, '#', '2', '8', '0', '0', '0', 'd', 'e', 'n', 'i', 'e', 'd'};
const B kSha2Fast{0x01, 0x03};
const B kSha2Full{0x01, 0x04};

TEST(SessionMysqlAuthRelay, NativePasswordThenOk) {
  AuthRelay a;
  EXPECT_EQ(a.start(wm::kNativePassword), Step::relay_wait_client);
  EXPECT_EQ(a.on_server(kOk), Step::relay_done_ok);
}

TEST(SessionMysqlAuthRelay, WrongPasswordErrIsPassedOn) {
  AuthRelay a;
  EXPECT_EQ(a.start(wm::kNativePassword), Step::relay_wait_client);
  EXPECT_EQ(a.on_server(kErr1045), Step::relay_done_err);
}

TEST(SessionMysqlAuthRelay, CachingSha2FastAuth) {
  AuthRelay a;  // plain link to the server: fast auth never sends the password
  EXPECT_EQ(a.start(wm::kCachingSha2Password), Step::relay_wait_client);
  EXPECT_EQ(a.on_server(kSha2Fast), Step::relay_wait_server);  // OK follows without a client answer
  EXPECT_EQ(a.on_server(kOk), Step::relay_done_ok);
}

TEST(SessionMysqlAuthRelay, CachingSha2FullAuthOverTls) {
  AuthRelay a;
  a.server_tls = true;
  EXPECT_EQ(a.start(wm::kCachingSha2Password), Step::relay_wait_client);
  EXPECT_EQ(a.on_server(kSha2Full), Step::relay_wait_client);  // the client sends its password over TLS
  EXPECT_EQ(a.on_server(kOk), Step::relay_done_ok);
}

TEST(SessionMysqlAuthRelay, CachingSha2FullAuthOverPlainLinkIsRefused) {
  AuthRelay a;
  EXPECT_EQ(a.start(wm::kCachingSha2Password), Step::relay_wait_client);
  EXPECT_EQ(a.on_server(kSha2Full), Step::refuse);
  EXPECT_NE(a.error.find("tls: true"), std::string::npos) << a.error;
}

TEST(SessionMysqlAuthRelay, SwitchToEd25519FromRecordedPacket) {
  const B sw = [] {
    B p{0xfe};
    for (char ch : std::string("client_ed25519")) p.push_back(static_cast<std::uint8_t>(ch));
    p.push_back(0);
    p.insert(p.end(), 32, 0x5a);  // nonce
    return p;
  }();
  AuthRelay a;
  EXPECT_EQ(a.start(wm::kNativePassword), Step::relay_wait_client);
  EXPECT_EQ(a.on_server(sw), Step::relay_wait_client);
  EXPECT_EQ(a.plugin, "client_ed25519");
  EXPECT_EQ(a.on_server(kOk), Step::relay_done_ok);
}

TEST(SessionMysqlAuthRelay, SwitchToClearTextOverPlainLinkIsRefused) {
  B sw{0xfe};
  for (char ch : std::string("mysql_clear_password")) sw.push_back(static_cast<std::uint8_t>(ch));
  sw.push_back(0);
  AuthRelay plain;
  plain.start(wm::kNativePassword);
  EXPECT_EQ(plain.on_server(sw), Step::refuse);
  AuthRelay tls;
  tls.server_tls = true;
  tls.start(wm::kNativePassword);
  EXPECT_EQ(tls.on_server(sw), Step::relay_wait_client);
  EXPECT_EQ(AuthRelay{}.start(wm::kSha256Password), Step::refuse);
}

TEST(SessionMysqlAuthRelay, GarbageIsRefused) {
  AuthRelay a;
  a.start(wm::kNativePassword);
  EXPECT_EQ(a.on_server(B{0x42, 0x01}), Step::refuse);
  EXPECT_EQ(a.on_server(B{}), Step::refuse);
}

}  // namespace
}  // namespace snigate::session::mysql
