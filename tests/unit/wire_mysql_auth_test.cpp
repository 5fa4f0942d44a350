// The authentication exchange. Recorded from MariaDB 10.11.19 and its client
// (data/mysql/, framed packets):
//   native switch: mariadb --default-auth=caching_sha2_password -u alice (a native account)
//     greeting_2 (seq 0) -> response_sha2 (1) -> switch_native (2) -> native_after_switch (3) -> OK (4)
//   ed25519: mariadb -u ed (an ed25519 account; the client starts with native)
//     greeting (0) -> response_ed_user (1) -> switch_ed25519 (2) -> ed25519_signature (3) -> ok_after_switch (4)
// caching_sha2_password is not packaged for Debian 12 (no MySQL 8 server); its
// exchanges below follow the MySQL and MariaDB protocol pages.
#include <gtest/gtest.h>

#include "test_data.hpp"
#include "wire/mysql.hpp"

namespace snigate::wire::mysql {
namespace {

Bytes load(const std::string& name) { return test::load_capture("mysql", name); }

// The packet's payload points into framed: keep framed alive while it is used.
Packet split(const Bytes& framed) {
  Packet p;
  EXPECT_EQ(split_packet(framed, p), Status::complete);
  return p;
}

TEST(WireMysqlAuthSwitch, RealNativeSwitchCarriesTheGreetingScramble) {
  const Bytes g = load("mariadb_greeting_2");
  InitialHandshake hs;
  ASSERT_EQ(parse_initial_handshake(split(g).payload, hs), Status::complete);

  const Bytes sw = load("mariadb_switch_native");
  const Packet p = split(sw);
  EXPECT_EQ(p.header.seq, 2);
  EXPECT_EQ(classify_auth_reply(p.payload), AuthReply::auth_switch);
  AuthSwitchRequest req;
  ASSERT_EQ(parse_auth_switch(p.payload, req), Status::complete);
  EXPECT_EQ(req.plugin, "mysql_native_password");
  ASSERT_EQ(req.data.size(), 20u);  // the wire has 21: the scramble and its NUL
  EXPECT_EQ(p.payload.size(), 1 + 22 + 21);
  EXPECT_EQ(Bytes(req.data), Bytes(hs.scramble_bytes().begin(), hs.scramble_bytes().end()));
  EXPECT_EQ(frame(2, encode_auth_switch(req)), sw);  // byte for byte

  // The client's answer is raw: 20 bytes, no header byte, seq 3; then OK at seq 4.
  const Bytes answer_bytes = load("mariadb_native_after_switch");
  const Packet answer = split(answer_bytes);
  EXPECT_EQ(answer.header.seq, 3);
  EXPECT_EQ(answer.payload.size(), 20u);
}

TEST(WireMysqlAuthSwitch, RealEd25519Switch) {
  const Bytes sw = load("mariadb_switch_ed25519");
  const Packet p = split(sw);
  EXPECT_EQ(p.header.seq, 2);
  AuthSwitchRequest req;
  ASSERT_EQ(parse_auth_switch(p.payload, req), Status::complete);
  EXPECT_EQ(req.plugin, kClientEd25519);
  EXPECT_EQ(req.data.size(), 32u);  // ed25519 sends a 32-byte nonce, no NUL
  EXPECT_EQ(frame(2, encode_auth_switch(req)), sw);

  const Bytes sig_bytes = load("mariadb_ed25519_signature");
  const Packet sig = split(sig_bytes);
  EXPECT_EQ(sig.header.seq, 3);
  EXPECT_EQ(sig.payload.size(), 64u);  // the signature, raw
  const Bytes ok_bytes = load("mariadb_ok_after_switch");
  const Packet ok = split(ok_bytes);
  EXPECT_EQ(ok.header.seq, 4);
  EXPECT_EQ(classify_auth_reply(ok.payload), AuthReply::ok);
  OkPacket okp;
  ASSERT_EQ(parse_ok(ok.payload, CLIENT_PROTOCOL_41 | CLIENT_SESSION_TRACK, okp), Status::complete);
  EXPECT_EQ(okp.status, SERVER_STATUS_AUTOCOMMIT);
}

TEST(WireMysqlAuthSwitch, SnigateSendsTheBackendScrambleToTheClient) {
  // The driver's step: the backend greeted with plugin P and scramble S; the
  // client gets AuthSwitchRequest{P, S} (with the NUL for scramble plugins).
  const std::array<std::uint8_t, 20> s = make_scramble();
  for (const std::string_view plugin : {kNativePassword, kCachingSha2Password}) {
    const AuthSwitchRequest req{std::string(plugin), Bytes(s.begin(), s.end())};
    const Bytes b = encode_auth_switch(req);
    EXPECT_EQ(b.size(), 1 + plugin.size() + 1 + 21);
    EXPECT_EQ(b.back(), 0);
    AuthSwitchRequest back;
    ASSERT_EQ(parse_auth_switch(b, back), Status::complete);
    EXPECT_EQ(back.plugin, plugin);
    EXPECT_EQ(back.data, req.data);
  }
}

TEST(WireMysqlAuthSwitch, OldPasswordAndMalformed) {
  AuthSwitchRequest req;
  ASSERT_EQ(parse_auth_switch(Bytes{0xfe}, req), Status::complete);
  EXPECT_EQ(req.plugin, "mysql_old_password");
  EXPECT_TRUE(req.data.empty());
  EXPECT_EQ(encode_auth_switch(req), Bytes{0xfe});
  std::string err;
  EXPECT_EQ(parse_auth_switch(Bytes{0xfe, 'a', 'b'}, req, &err), Status::malformed);
  EXPECT_NE(err.find("NUL"), std::string::npos);
  EXPECT_EQ(parse_auth_switch(Bytes{0xfe, 0x00, 1}, req, &err), Status::malformed);
  EXPECT_EQ(parse_auth_switch(Bytes{0x01, 'a', 0}, req, &err), Status::malformed);
  EXPECT_EQ(parse_auth_switch(Bytes{}, req, &err), Status::malformed);
  // Unknown plugins keep their data as is, NUL included.
  ASSERT_EQ(parse_auth_switch(Bytes{0xfe, 'x', 0, 1, 0}, req), Status::complete);
  EXPECT_EQ(req.data, (Bytes{1, 0}));
}

TEST(WireMysqlAuthMoreData, CachingSha2FastAuth) {
  // Client: HandshakeResponse41 with plugin caching_sha2_password and a
  // 32-byte scrambled hash (seq 1); server: AuthMoreData 0x03 (seq 2), then OK (seq 3).
  const Bytes fast = frame(2, encode_auth_more_data(Bytes{kSha2FastAuthOk}));
  EXPECT_EQ(fast, (Bytes{0x02, 0, 0, 2, 0x01, 0x03}));
  const Packet p = split(fast);
  EXPECT_EQ(classify_auth_reply(p.payload), AuthReply::more_data);
  Bytes data;
  ASSERT_EQ(parse_auth_more_data(p.payload, data), Status::complete);
  EXPECT_EQ(data, Bytes{kSha2FastAuthOk});
}

TEST(WireMysqlAuthMoreData, CachingSha2FullAuthSequences) {
  // Full auth: server 0x01 0x04 (seq 2). Over TLS the client then sends the
  // password and a NUL (seq 3). Over plain TCP it sends 0x02 (seq 3), the
  // server answers AuthMoreData with its PEM key (seq 4), the client sends the
  // RSA-encrypted password (seq 5), then OK or ERR (seq 6).
  Bytes data;
  ASSERT_EQ(parse_auth_more_data(Bytes{0x01, kSha2PerformFullAuth}, data), Status::complete);
  EXPECT_EQ(data, Bytes{0x04});
  const std::string pem = "-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n";
  const Bytes key = encode_auth_more_data(detail::as_bytes(pem));
  EXPECT_EQ(key.size(), pem.size() + 1);
  ASSERT_EQ(parse_auth_more_data(key, data), Status::complete);
  EXPECT_EQ(std::string(data.begin(), data.end()), pem);
  EXPECT_EQ(parse_auth_more_data(Bytes{}, data), Status::malformed);
  EXPECT_EQ(parse_auth_more_data(Bytes{0x02}, data), Status::malformed);
  EXPECT_EQ(classify_auth_reply(Bytes{0x00}), AuthReply::ok);
  EXPECT_EQ(classify_auth_reply(Bytes{0x42}), AuthReply::unknown);
  EXPECT_EQ(classify_auth_reply(Bytes{}), AuthReply::unknown);
}

}  // namespace
}  // namespace snigate::wire::mysql
