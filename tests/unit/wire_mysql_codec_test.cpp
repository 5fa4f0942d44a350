// MySQL basics: lenenc values, the reader's bounds, framing, ERR and OK,
// user@host, the scramble. Real packets: data/mysql/ (see wire_mysql_handshake_test.cpp).
#include <gtest/gtest.h>

#include "test_data.hpp"
#include "wire/mysql.hpp"

namespace snigate::wire::mysql {
namespace {

Bytes load(const std::string& name) { return test::load_capture("mysql", name); }

Bytes payload_of(const Bytes& framed) {
  Packet p;
  EXPECT_EQ(split_packet(framed, p), Status::complete);
  return Bytes(p.payload.begin(), p.payload.end());
}

Bytes str(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST(WireMysqlLenenc, BoundariesRoundTrip) {
  for (std::uint64_t v : {0ULL, 1ULL, 250ULL, 251ULL, 0xffffULL, 0x10000ULL, 0xffffffULL, 0x1000000ULL,
                          0xffffffffffffffffULL}) {
    Bytes b;
    Writer w{b};
    w.lenenc(v);
    EXPECT_EQ(b.size(), lenenc_size(v)) << v;
    Reader r{b};
    std::uint64_t got = 0;
    ASSERT_TRUE(r.lenenc(got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_TRUE(r.at_end());
    // Every proper prefix is refused and leaves the cursor at the start.
    for (std::size_t n = 0; n < b.size(); ++n) {
      Reader p{ByteView(b).first(n)};
      EXPECT_FALSE(p.lenenc(got)) << v << " prefix " << n;
      EXPECT_EQ(p.pos, 0u);
    }
  }
  EXPECT_EQ((Bytes{0xfa}), ([] { Bytes b; Writer{b}.lenenc(250); return b; })());
  EXPECT_EQ((Bytes{0xfc, 0xfb, 0x00}), ([] { Bytes b; Writer{b}.lenenc(251); return b; })());
}

TEST(WireMysqlLenenc, NullAndErrMarkersAreNotIntegers) {
  std::uint64_t v = 0;
  const Bytes nul{0xfb}, ff{0xff, 1, 2, 3, 4, 5, 6, 7, 8};
  Reader a{nul}, b{ff};
  EXPECT_FALSE(a.lenenc(v));
  EXPECT_FALSE(b.lenenc(v));
}

TEST(WireMysqlReader, LenencBytesNeverReadsPastTheEnd) {
  // 0xfe + 8-byte length near 2^64: must not wrap into "fits".
  const Bytes huge{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'x'};
  Reader r{huge};
  ByteView v;
  EXPECT_FALSE(r.lenenc_bytes(v));
  EXPECT_EQ(r.pos, 0u);
  const Bytes shortby1{0x03, 'a', 'b'};
  Reader s{shortby1};
  EXPECT_FALSE(s.lenenc_bytes(v));
  const Bytes ok{0x02, 'a', 'b', 0x00};
  Reader t{ok};
  ASSERT_TRUE(t.lenenc_bytes(v));
  EXPECT_EQ(detail::as_text(v), "ab");
  EXPECT_EQ(t.left(), 1u);
}

TEST(WireMysqlReader, NulStringNeedsItsTerminator) {
  const Bytes b = str(std::string_view("abc\0de", 6));
  Reader r{b};
  std::string_view s;
  ASSERT_TRUE(r.nul_string(s));
  EXPECT_EQ(s, "abc");
  EXPECT_FALSE(r.nul_string(s));
  EXPECT_EQ(r.pos, 4u);
  EXPECT_EQ(detail::as_text(r.rest()), "de");
  EXPECT_TRUE(r.at_end());
  std::uint64_t v = 0;
  EXPECT_FALSE(r.uint(1, v));
  EXPECT_FALSE(r.uint(9, v));
}

TEST(WireMysqlFrame, SplitsRealPacketsAndNeedsMoreForEveryPrefix) {
  const Bytes g = load("mariadb_greeting");
  Packet p;
  ASSERT_EQ(split_packet(g, p), Status::complete);
  EXPECT_EQ(p.header.length, 100u);
  EXPECT_EQ(p.header.seq, 0);
  EXPECT_EQ(p.wire_size, g.size());
  EXPECT_FALSE(p.continues);
  for (std::size_t n = 0; n < g.size(); ++n) EXPECT_EQ(split_packet(ByteView(g).first(n), p), Status::need_more) << n;
  // Two packets in one read: the first is split off, the rest stays.
  Bytes two = g;
  const Bytes ok = load("mariadb_ok_session_track");
  two.insert(two.end(), ok.begin(), ok.end());
  ASSERT_EQ(split_packet(two, p), Status::complete);
  EXPECT_EQ(p.wire_size, g.size());
  ASSERT_EQ(split_packet(ByteView(two).subspan(p.wire_size), p), Status::complete);
  EXPECT_EQ(p.header.seq, 2);
}

TEST(WireMysqlFrame, TooLargeIsDecidedFromTheHeader) {
  Packet p;
  const Bytes big{0x01, 0x00, 0x01, 0x00};  // 65537 bytes announced, none sent
  EXPECT_EQ(split_packet(big, p), Status::too_large);
  EXPECT_EQ(split_packet(big, p, kMaxPayload), Status::need_more);
  const Bytes cont{0xff, 0xff, 0xff, 0x07};  // 16 MiB - 1: "continues"
  EXPECT_EQ(split_packet(cont, p), Status::too_large);
  Bytes full = cont;
  full.resize(kHeaderSize + kMaxPayload, 'x');
  ASSERT_EQ(split_packet(full, p, kMaxPayload), Status::complete);
  EXPECT_TRUE(p.continues);
  EXPECT_EQ(p.header.seq, 7);
}

TEST(WireMysqlFrame, FrameWritesHeaderAndSplitsHugePayloads) {
  EXPECT_EQ(frame(3, str("ab")), (Bytes{2, 0, 0, 3, 'a', 'b'}));
  EXPECT_EQ(frame(9, {}), (Bytes{0, 0, 0, 9}));
  // Exactly 0xffffff bytes: one full packet, then an empty one (seq wraps 255 -> 0).
  const Bytes big(kMaxPayload, 'x');
  const Bytes f = frame(255, big);
  ASSERT_EQ(f.size(), kMaxPayload + 2 * kHeaderSize);
  Packet p;
  ASSERT_EQ(split_packet(f, p, kMaxPayload), Status::complete);
  EXPECT_TRUE(p.continues);
  EXPECT_EQ(p.header.seq, 255);
  ASSERT_EQ(split_packet(ByteView(f).subspan(p.wire_size), p, kMaxPayload), Status::complete);
  EXPECT_EQ(p.header.length, 0u);
  EXPECT_EQ(p.header.seq, 0);
  // One more byte: the second packet carries it.
  const Bytes f2 = frame(0, Bytes(kMaxPayload + 1, 'y'));
  ASSERT_EQ(f2.size(), kMaxPayload + 1 + 2 * kHeaderSize);
  EXPECT_EQ(f2[kHeaderSize + kMaxPayload], 1);
  EXPECT_EQ(f2[kHeaderSize + kMaxPayload + 3], 1);
}

TEST(WireMysqlErr, ParsesRealAccessDenied) {
  const Bytes f = load("mariadb_err_1045");
  Packet p;
  ASSERT_EQ(split_packet(f, p), Status::complete);
  EXPECT_EQ(p.header.seq, 2);
  EXPECT_EQ(classify_auth_reply(p.payload), AuthReply::err);
  ErrPacket e;
  ASSERT_EQ(parse_err(p.payload, e), Status::complete);
  EXPECT_EQ(e.code, 1045);
  EXPECT_EQ(e.sql_state, "28000");
  EXPECT_EQ(e.message, "Access denied for user 'alice'@'127.0.0.1' (using password: YES)");
  EXPECT_EQ(encode_err(e.code, e.sql_state, e.message, 2), f);  // byte for byte
}

TEST(WireMysqlErr, PreGreetingErrHasNoSqlState) {
  // MariaDB over max_connections: sent instead of the greeting, before it knows
  // whether the client speaks 4.1, so there is no '#' marker.
  const Bytes f = load("mariadb_err_too_many_connections");
  const Bytes pl = payload_of(f);
  ErrPacket e;
  ASSERT_EQ(parse_err(pl, e), Status::complete);
  EXPECT_EQ(e.code, 1040);
  EXPECT_EQ(e.sql_state, "");
  EXPECT_EQ(e.message, "Too many connections");
  EXPECT_EQ(frame(0, encode_err_payload(e, false)), f);
}

TEST(WireMysqlErr, MalformedAndEdgeCases) {
  ErrPacket e;
  std::string err;
  EXPECT_EQ(parse_err(Bytes{}, e, &err), Status::malformed);
  EXPECT_EQ(parse_err(Bytes{0xff, 0x15}, e, &err), Status::malformed);
  EXPECT_NE(err.find("truncated"), std::string::npos);
  EXPECT_EQ(parse_err(Bytes{0xff, 0xff, 0xff, 1, 2}, e, &err), Status::malformed);
  EXPECT_NE(err.find("progress"), std::string::npos);
  ASSERT_EQ(parse_err(Bytes{0xff, 0x15, 0x04}, e), Status::complete);  // no message at all
  EXPECT_EQ(e.code, 1045);
  EXPECT_EQ(e.message, "");
  ASSERT_EQ(parse_err(str("\xff\x15\x04#2800"), e), Status::complete);  // '#' but too short: message
  EXPECT_EQ(e.sql_state, "");
  EXPECT_EQ(e.message, "#2800");
  // encode_err pads or cuts the state to five characters.
  const Bytes short_state = encode_err(1130, "HY", "no", 0);
  EXPECT_EQ(Bytes(short_state.begin() + 7, short_state.begin() + 13), str("#HY000"));
}

TEST(WireMysqlErr, SnigateRefusalsUseServerCodes) {
  const Bytes f = encode_err(kErrNoRoute.code, kErrNoRoute.sql_state, "no route for 'db9.example.com'", 2);
  Packet p;
  ASSERT_EQ(split_packet(f, p), Status::complete);
  EXPECT_EQ(p.header.seq, 2);
  ErrPacket e;
  ASSERT_EQ(parse_err(p.payload, e), Status::complete);
  EXPECT_EQ(e.code, 1130);
  EXPECT_EQ(e.sql_state, "HY000");
  EXPECT_EQ(e.message, "no route for 'db9.example.com'");
  for (const ErrCode c : {kErrNoRoute, kErrAccessDenied, kErrBackendUnreachable, kErrTimeout, kErrBadHandshake,
                          kErrNotSupported, kErrTooManyConnections}) {
    EXPECT_EQ(std::string_view(c.sql_state).size(), 5u);
    EXPECT_LT(c.code, 2000);  // server codes; 2000-2999 are client library codes
  }
}

TEST(WireMysqlOk, ParsesRealOkWithSessionTrack) {
  // MariaDB's OK after `mariadb -D shop`: the session tracker reports the schema.
  const Bytes f = load("mariadb_ok_session_track");
  Packet p;
  ASSERT_EQ(split_packet(f, p), Status::complete);
  EXPECT_EQ(p.header.seq, 2);
  const std::uint64_t caps = CLIENT_PROTOCOL_41 | CLIENT_SESSION_TRACK | CLIENT_TRANSACTIONS;
  OkPacket ok;
  ASSERT_EQ(parse_ok(p.payload, caps, ok), Status::complete);
  EXPECT_EQ(ok.affected_rows, 0u);
  EXPECT_EQ(ok.status, SERVER_STATUS_AUTOCOMMIT | SERVER_SESSION_STATE_CHANGED);
  EXPECT_EQ(ok.info, "");
  EXPECT_EQ(ok.session_state, (Bytes{0x01, 0x05, 0x04, 's', 'h', 'o', 'p'}));
  EXPECT_EQ(encode_ok(ok, caps), Bytes(p.payload.begin(), p.payload.end()));
}

TEST(WireMysqlOk, ParsesRealOkWithoutSessionTrack) {
  const Bytes pl = payload_of(load("pymysql_ok"));  // PyMySQL does not ask for SESSION_TRACK
  const std::uint64_t caps = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS;
  OkPacket ok;
  ASSERT_EQ(parse_ok(pl, caps, ok), Status::complete);
  EXPECT_EQ(ok.status, SERVER_STATUS_AUTOCOMMIT);
  EXPECT_EQ(ok.info, "");
  EXPECT_EQ(encode_ok(ok, caps), pl);
  // With SESSION_TRACK and nothing after the warnings, info is simply absent.
  ASSERT_EQ(parse_ok(pl, caps | CLIENT_SESSION_TRACK, ok), Status::complete);
  EXPECT_EQ(encode_ok(ok, caps | CLIENT_SESSION_TRACK), pl);
}

TEST(WireMysqlOk, RoundTripsInfoAndRejectsBadLengths) {
  OkPacket ok;
  ok.affected_rows = 300;
  ok.last_insert_id = 70000;
  ok.status = SERVER_STATUS_AUTOCOMMIT;
  ok.warnings = 1;
  ok.info = "Rows matched: 1";
  for (std::uint64_t caps : {CLIENT_PROTOCOL_41, CLIENT_PROTOCOL_41 | CLIENT_SESSION_TRACK}) {
    const Bytes b = encode_ok(ok, caps);
    OkPacket back;
    ASSERT_EQ(parse_ok(b, caps, back), Status::complete);
    EXPECT_EQ(back.affected_rows, 300u);
    EXPECT_EQ(back.last_insert_id, 70000u);
    EXPECT_EQ(back.warnings, 1);
    EXPECT_EQ(back.info, ok.info);
  }
  OkPacket out;
  std::string err;
  EXPECT_EQ(parse_ok(Bytes{0x00, 0xfc, 0x01}, CLIENT_PROTOCOL_41, out, &err), Status::malformed);
  EXPECT_NE(err.find("affected rows"), std::string::npos);
  EXPECT_EQ(parse_ok(Bytes{0x00, 0, 0, 2, 0, 0, 0, 9, 'x'}, CLIENT_PROTOCOL_41 | CLIENT_SESSION_TRACK, out, &err),
            Status::malformed);
  EXPECT_EQ(parse_ok(Bytes{0x01}, CLIENT_PROTOCOL_41, out, &err), Status::malformed);
}

TEST(WireMysqlUserHost, SplitsAtTheLastAt) {
  auto check = [](std::string_view in, std::string_view user, std::string_view host) {
    const UserHost uh = user_at_host(in);
    EXPECT_EQ(uh.user, user) << in;
    EXPECT_EQ(uh.host, host) << in;
  };
  check("alice@db1.example.com", "alice", "db1.example.com");
  check("alice", "alice", "");
  check("a@b@c.example", "a@b", "c.example");  // e.g. an e-mail-like account name
  check("alice@", "alice@", "");               // trailing '@': an account name, no host
  check("@db1", "", "db1");                    // the anonymous account on db1
  check("", "", "");
}

TEST(WireMysqlScramble, PrintableNoNulNoDollar) {
  std::mt19937 gen(1);
  for (int i = 0; i < 2000; ++i) {
    const auto s = i % 2 ? make_scramble(gen) : make_scramble();
    for (const std::uint8_t c : s) {
      EXPECT_GE(c, '!');
      EXPECT_LE(c, '~');
      EXPECT_NE(c, '$');
    }
  }
  EXPECT_NE(make_scramble(), make_scramble());
}

}  // namespace
}  // namespace snigate::wire::mysql
