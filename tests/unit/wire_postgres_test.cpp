// PostgreSQL wire codec: startup packets, framing, the setup-time messages,
// user@host. Real messages: data/postgres/*.hex, captured from PostgreSQL
// 15.18 and psql/libpq 15.18 (Debian 12) through a logging proxy; the TLS ones
// were taken inside TLS by a proxy that terminated it (each file says how).
// Every parser is also run over every prefix of every capture and over
// single-byte corruptions: ASan/UBSan builds turn any read outside the input
// into a failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "wire/postgres.hpp"

namespace snigate::wire::postgres {
namespace {

std::string data_dir() { return std::string(SNIGATE_TEST_DATA) + "/postgres"; }

// Hex text, whitespace ignored; lines starting with '#' are comments.
Bytes from_hex(std::string_view text) {
  Bytes out;
  int hi = -1;
  bool comment = false;
  for (const char ch : text) {
    if (ch == '\n') comment = false;
    if (comment || ch == '#') {
      comment = true;
      continue;
    }
    int v = -1;
    if (ch >= '0' && ch <= '9') v = ch - '0';
    else if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') v = ch - 'A' + 10;
    else continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  EXPECT_LT(hi, 0) << "odd number of hex digits";
  return out;
}

Bytes load(const std::string& name) {
  std::ifstream f(data_dir() + "/" + name + ".hex");
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Bytes b = from_hex(text);
  EXPECT_FALSE(b.empty()) << name;
  return b;
}

Bytes str(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8),
          static_cast<std::uint8_t>(v)};
}

// An untyped packet with its length word.
Bytes packet(std::uint32_t code, const Bytes& rest) {
  return cat({be32(static_cast<std::uint32_t>(8 + rest.size())), be32(code), rest});
}

// The body of a whole typed message (type byte included in `msg`).
Bytes body_of(const Bytes& msg, char type) {
  Message m;
  EXPECT_EQ(split_message(msg, m), Status::complete);
  EXPECT_EQ(m.type, type);
  EXPECT_EQ(m.wire_size, msg.size());
  return Bytes(m.body.begin(), m.body.end());
}

ByteView prefix(const Bytes& b, std::size_t n) { return ByteView(b).first(n); }

// ------------------------------------------------------------ classify_first

TEST(WirePostgresClassify, RealFirstPackets) {
  EXPECT_EQ(classify_first(load("libpq_ssl_request")), First::ssl_request);
  EXPECT_EQ(classify_first(load("libpq_startup")), First::startup_message);
  EXPECT_EQ(classify_first(load("libpq_startup_options")), First::startup_message);
  EXPECT_EQ(classify_first(load("libpq_cancel_request")), First::cancel_request);
  // libpq only sends a GSSENCRequest when it holds Kerberos credentials, which
  // this machine has none of; bytes from the protocol documentation.
  EXPECT_EQ(classify_first(Bytes{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30}), First::gssenc_request);
}

TEST(WirePostgresClassify, LengthBoundaries) {
  auto first = [](std::uint32_t len, std::uint32_t code) { return classify_first(cat({be32(len), be32(code)})); };
  EXPECT_EQ(first(8, kSslRequestCode), First::ssl_request);
  EXPECT_EQ(first(9, kSslRequestCode), First::not_postgres);
  EXPECT_EQ(first(16, kGssEncRequestCode), First::not_postgres);
  EXPECT_EQ(first(15, kCancelRequestCode), First::not_postgres);
  EXPECT_EQ(first(16, kCancelRequestCode), First::cancel_request);
  EXPECT_EQ(first(12 + kMaxCancelKey, kCancelRequestCode), First::cancel_request);
  EXPECT_EQ(first(13 + kMaxCancelKey, kCancelRequestCode), First::not_postgres);
  EXPECT_EQ(first(8, kProtocol30), First::not_postgres);
  EXPECT_EQ(first(9, kProtocol30), First::startup_message);
  EXPECT_EQ(first(kMaxStartupPacket, kProtocol30), First::startup_message);
  EXPECT_EQ(first(kMaxStartupPacket + 1, kProtocol30), First::not_postgres);
  EXPECT_EQ(first(0xffffffff, kProtocol30), First::not_postgres);
  EXPECT_EQ(first(100, 3u << 16 | 2), First::startup_message);  // protocol 3.2
  EXPECT_EQ(first(100, 2u << 16), First::not_postgres);         // protocol 2.0, gone since PostgreSQL 14
  EXPECT_EQ(first(100, 4u << 16), First::not_postgres);
  EXPECT_EQ(first(8, 0), First::not_postgres);
}

TEST(WirePostgresClassify, OtherProtocolsAreNotPostgres) {
  EXPECT_EQ(classify_first(str("GET / HTTP/1.1\r\n")), First::not_postgres);
  EXPECT_EQ(classify_first(Bytes{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc}), First::not_postgres);
  EXPECT_EQ(classify_first(Bytes(8, 0)), First::not_postgres);
  EXPECT_EQ(classify_first(Bytes(8, 0xff)), First::not_postgres);
  // Fewer than 8 bytes breaks the contract; still no read past them.
  EXPECT_EQ(classify_first(Bytes{0, 0, 0, 8, 0x04, 0xd2, 0x16}), First::not_postgres);
  EXPECT_EQ(classify_first(ByteView{}), First::not_postgres);
}

TEST(WirePostgresClassify, StartupLength) {
  EXPECT_EQ(startup_length(load("libpq_startup")), 56u);
  EXPECT_EQ(startup_length(load("libpq_cancel_request")), 16u);
  EXPECT_EQ(startup_length(Bytes{0x12, 0x34, 0x56, 0x78}), 0x12345678u);
  EXPECT_EQ(startup_length(Bytes{0, 0, 1}), 0u);
}

// ------------------------------------------------------------ StartupMessage

TEST(WirePostgresStartup, RealLibpqMessage) {
  const Bytes b = load("libpq_startup");
  StartupMessage m;
  ASSERT_EQ(parse_startup(b, m), Status::complete);
  EXPECT_EQ(m.protocol, kProtocol30);
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(m.params, (std::vector<P>{{"user", "alice"}, {"database", "shop"}, {"application_name", "psql"}}));
  ASSERT_NE(m.get("user"), nullptr);
  EXPECT_EQ(*m.get("user"), "alice");
  EXPECT_EQ(m.get("options"), nullptr);
  EXPECT_EQ(encode_startup(m), b);
}

TEST(WirePostgresStartup, RealLibpqMessageWithOptions) {
  const Bytes b = load("libpq_startup_options");
  StartupMessage m;
  ASSERT_EQ(parse_startup(b, m), Status::complete);
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(m.params, (std::vector<P>{{"user", "alice"},
                                      {"database", "shop"},
                                      {"options", "-c search_path=shop"},
                                      {"application_name", "snigate-test"},
                                      {"client_encoding", "UTF8"}}));
  EXPECT_EQ(encode_startup(m), b);
}

TEST(WirePostgresStartup, EveryPrefixNeedsMore) {
  for (const char* name : {"libpq_startup", "libpq_startup_options"}) {
    const Bytes b = load(name);
    for (std::size_t n = 0; n < b.size(); ++n) {
      StartupMessage m;
      EXPECT_EQ(parse_startup(prefix(b, n), m), Status::need_more) << name << " prefix " << n;
    }
  }
}

TEST(WirePostgresStartup, LengthWordMustMatch) {
  const Bytes b = load("libpq_startup");
  StartupMessage m;
  std::string why;
  Bytes longer = b;
  longer.push_back(0);
  EXPECT_EQ(parse_startup(longer, m, &why), Status::malformed);
  EXPECT_NE(why.find("57 bytes"), std::string::npos) << why;
  // The word says one byte more than the packet has: the rest may be on its way.
  Bytes word_too_big = b;
  word_too_big[3] += 1;
  EXPECT_EQ(parse_startup(word_too_big, m), Status::need_more);
  // The word says one byte less: a byte too many was given.
  Bytes word_too_small = b;
  word_too_small[3] -= 1;
  EXPECT_EQ(parse_startup(word_too_small, m), Status::malformed);
  for (std::uint32_t len : {0u, 4u, 8u}) {
    Bytes p = cat({be32(len), be32(kProtocol30), Bytes{0}});
    why.clear();
    EXPECT_EQ(parse_startup(p, m, &why), Status::malformed) << len;
    EXPECT_FALSE(why.empty());
  }
}

TEST(WirePostgresStartup, TooLargeIsDecidedFromTheLengthWord) {
  StartupMessage m;
  std::string why;
  EXPECT_EQ(parse_startup(cat({be32(kMaxStartupPacket + 1), be32(kProtocol30)}), m, &why), Status::too_large);
  EXPECT_FALSE(why.empty());
  EXPECT_EQ(parse_startup(be32(0xffffffff), m), Status::too_large);
  // Exactly the limit is fine.
  Bytes big = packet(kProtocol30, cat({str("user"), Bytes{0}, Bytes(kMaxStartupPacket - 8 - 7, 'a'), Bytes{0, 0}}));
  ASSERT_EQ(big.size(), kMaxStartupPacket);
  ASSERT_EQ(parse_startup(big, m), Status::complete);
  EXPECT_EQ(m.get("user")->size(), kMaxStartupPacket - 15);
  EXPECT_EQ(encode_startup(m), big);
}

TEST(WirePostgresStartup, ListLayout) {
  StartupMessage m;
  std::string why;
  // No parameters at all: the user is the driver's business, not the parser's.
  ASSERT_EQ(parse_startup(packet(kProtocol30, Bytes{0}), m), Status::complete);
  EXPECT_TRUE(m.params.empty());
  EXPECT_EQ(encode_startup(m), packet(kProtocol30, Bytes{0}));
  // An empty value is a value.
  ASSERT_EQ(parse_startup(packet(kProtocol30, str(std::string_view("user\0alice\0database\0\0\0", 22))), m),
            Status::complete);
  EXPECT_EQ(*m.get("database"), "");
  // Duplicates are kept, in order; get() answers the first.
  const Bytes dup = packet(kProtocol30, str(std::string_view("user\0a\0user\0b\0\0", 15)));
  ASSERT_EQ(parse_startup(dup, m), Status::complete);
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[1].second, "b");
  EXPECT_EQ(*m.get("user"), "a");
  EXPECT_EQ(encode_startup(m), dup);

  // No list terminator; the key's value missing; a key running off the end.
  for (std::string_view bad : {std::string_view("user\0alice\0", 11), std::string_view("user\0alice\0database\0", 20),
                               std::string_view("user\0alice", 10), std::string_view("user", 4)}) {
    why.clear();
    EXPECT_EQ(parse_startup(packet(kProtocol30, str(bad)), m, &why), Status::malformed) << bad;
    EXPECT_FALSE(why.empty());
    EXPECT_TRUE(m.params.empty()) << "a failed parse leaves nothing half-filled";
  }
  // Bytes after the terminator (the server refuses these too).
  EXPECT_EQ(parse_startup(packet(kProtocol30, str(std::string_view("user\0a\0\0x", 9))), m, &why), Status::malformed);
  EXPECT_EQ(parse_startup(packet(kProtocol30, str(std::string_view("\0\0", 2))), m), Status::malformed);
}

TEST(WirePostgresStartup, ProtocolVersion) {
  StartupMessage m;
  std::string why;
  const Bytes body = str(std::string_view("user\0alice\0\0", 12));
  EXPECT_EQ(parse_startup(packet(2u << 16, body), m, &why), Status::malformed);
  EXPECT_NE(why.find("2.0"), std::string::npos) << why;
  // Special request codes are not StartupMessages even when well formed otherwise.
  EXPECT_EQ(parse_startup(packet(kSslRequestCode, body), m), Status::malformed);
  // 3.2 (PostgreSQL 18) parses and keeps its minor version.
  const Bytes v32 = packet(3u << 16 | 2, cat({str(std::string_view("user\0alice\0_pq_.x\0y\0", 20)), Bytes{0}}));
  ASSERT_EQ(parse_startup(v32, m), Status::complete);
  EXPECT_EQ(m.protocol, 3u << 16 | 2);
  EXPECT_EQ(encode_startup(m), v32);
}

TEST(WirePostgresStartup, GetAndSet) {
  StartupMessage m;
  ASSERT_EQ(parse_startup(load("libpq_startup"), m), Status::complete);
  m.set("user", "bob");  // replaces in place
  m.set("options", "-c x=1");  // appends
  ASSERT_EQ(m.params.size(), 4u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"user", "bob"}));
  EXPECT_EQ(m.params[3].first, "options");
  StartupMessage back;
  ASSERT_EQ(parse_startup(encode_startup(m), back), Status::complete);
  EXPECT_EQ(back.params, m.params);
  EXPECT_EQ(back.protocol, m.protocol);
}

// ------------------------------------------------------------ CancelRequest, SSLRequest

TEST(WirePostgresCancel, RealCancelMatchesBackendKeyData) {
  const Bytes b = load("libpq_cancel_request");
  CancelRequest c;
  ASSERT_EQ(parse_cancel(b, c), Status::complete);
  EXPECT_EQ(c.pid, 0x4b48u);
  EXPECT_EQ(c.key, (Bytes{0xb2, 0x9f, 0x58, 0x50}));
  EXPECT_EQ(encode_cancel(c), b);

  CancelRequest k;
  ASSERT_EQ(parse_backend_key_data(body_of(load("backend_key_data_cancelled"), 'K'), k), Status::complete);
  EXPECT_EQ(k.pid, c.pid);
  EXPECT_EQ(k.key, c.key);
}

TEST(WirePostgresCancel, EveryPrefixNeedsMore) {
  const Bytes b = load("libpq_cancel_request");
  for (std::size_t n = 0; n < b.size(); ++n) {
    CancelRequest c;
    EXPECT_EQ(parse_cancel(prefix(b, n), c), Status::need_more) << n;
  }
}

TEST(WirePostgresCancel, KeyLengths) {
  CancelRequest c;
  for (std::size_t n : {std::size_t{4}, std::size_t{32}, kMaxCancelKey}) {
    CancelRequest in{1234, Bytes(n, 0xab)};
    const Bytes b = encode_cancel(in);
    EXPECT_EQ(classify_first(b), First::cancel_request) << n;
    ASSERT_EQ(parse_cancel(b, c), Status::complete) << n;
    EXPECT_EQ(c.pid, 1234u);
    EXPECT_EQ(c.key, in.key);
  }
  EXPECT_EQ(parse_cancel(encode_cancel({1, Bytes(3, 1)}), c), Status::malformed);
  EXPECT_EQ(parse_cancel(encode_cancel({1, Bytes{}}), c), Status::malformed);
  EXPECT_EQ(parse_cancel(encode_cancel({1, Bytes(kMaxCancelKey + 1, 1)}), c), Status::malformed);
  // Judged from the length word alone, before the bytes arrive.
  EXPECT_EQ(parse_cancel(be32(13 + kMaxCancelKey), c), Status::malformed);
  EXPECT_EQ(parse_cancel(be32(15), c), Status::malformed);
}

TEST(WirePostgresCancel, WrongCodeOrLength) {
  CancelRequest c;
  Bytes b = load("libpq_cancel_request");
  Bytes wrong_code = b;
  wrong_code[7] ^= 1;
  EXPECT_EQ(parse_cancel(wrong_code, c), Status::malformed);
  EXPECT_EQ(parse_cancel(load("libpq_startup"), c), Status::malformed);
  Bytes trailing = b;
  trailing.push_back(0);
  EXPECT_EQ(parse_cancel(trailing, c), Status::malformed);
  EXPECT_TRUE(c.key.empty());
}

TEST(WirePostgresSsl, EncodeMatchesLibpq) { EXPECT_EQ(encode_ssl_request(), load("libpq_ssl_request")); }

// ------------------------------------------------------------ typed messages

TEST(WirePostgresSplit, RealServerStream) {
  const Bytes stream = load("server_login_stream");
  std::string types;
  ByteView rest(stream);
  while (!rest.empty()) {
    Message m;
    ASSERT_EQ(split_message(rest, m), Status::complete) << types;
    EXPECT_EQ(m.wire_size, 5 + m.body.size());
    EXPECT_EQ(encode_message(m.type, m.body), Bytes(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(m.wire_size)));
    types += m.type;
    rest = rest.subspan(m.wire_size);
  }
  // Authentication x4 (SASL, SASLContinue, SASLFinal, Ok), 13 ParameterStatus,
  // BackendKeyData, ReadyForQuery, then the 'select 1' and its ReadyForQuery.
  EXPECT_EQ(types, "RRRR" + std::string(13, 'S') + "KZTDCZ");
}

TEST(WirePostgresSplit, EveryPrefixNeedsMore) {
  const Bytes stream = load("server_login_stream");
  Message first;
  ASSERT_EQ(split_message(stream, first), Status::complete);
  // Cut anywhere: the messages before the cut split, the one cut needs more.
  for (std::size_t n = 0; n < stream.size(); ++n) {
    ByteView rest = prefix(stream, n);
    Status s = Status::complete;
    while (s == Status::complete) {
      Message m;
      s = split_message(rest, m);
      if (s == Status::complete) rest = rest.subspan(m.wire_size);
    }
    EXPECT_EQ(s, Status::need_more) << n;
  }
}

TEST(WirePostgresSplit, LengthWord) {
  Message m;
  for (std::uint32_t len : {0u, 1u, 3u}) EXPECT_EQ(split_message(cat({Bytes{'Z'}, be32(len)}), m), Status::malformed);
  ASSERT_EQ(split_message(cat({Bytes{'X'}, be32(4), Bytes{'Q'}}), m), Status::complete);
  EXPECT_EQ(m.type, 'X');
  EXPECT_TRUE(m.body.empty());
  EXPECT_EQ(m.wire_size, 5u);
  EXPECT_EQ(encode_message('X', {}), (Bytes{'X', 0, 0, 0, 4}));
}

TEST(WirePostgresSplit, TooLargeFromTheHeaderAlone) {
  Message m;
  // Only the 5-byte header has arrived: no waiting for a body that is too big.
  EXPECT_EQ(split_message(cat({Bytes{'D'}, be32(4 + kMaxSetupMessage + 1)}), m), Status::too_large);
  EXPECT_EQ(split_message(cat({Bytes{'D'}, be32(0xffffffff)}), m), Status::too_large);
  EXPECT_EQ(split_message(cat({Bytes{'D'}, be32(4 + kMaxSetupMessage)}), m), Status::need_more);
  EXPECT_EQ(split_message(cat({Bytes{'D'}, be32(4 + 10)}), m, 9), Status::too_large);
  const Bytes exact = cat({Bytes{'D'}, be32(4 + 10), Bytes(10, 'x')});
  ASSERT_EQ(split_message(exact, m, 10), Status::complete);
  EXPECT_EQ(m.body.size(), 10u);
  EXPECT_EQ(split_message(cat({Bytes{'D'}, be32(5), Bytes{1}}), m, 0), Status::too_large);
  EXPECT_EQ(split_message(cat({Bytes{'D'}, be32(4)}), m, 0), Status::complete);
}

TEST(WirePostgresSplit, EncodeMessageRoundTrip) {
  const Bytes body = str("select 1");
  const Bytes b = encode_message('Q', body);
  EXPECT_EQ(b, cat({Bytes{'Q'}, be32(12), body}));
  Message m;
  ASSERT_EQ(split_message(b, m), Status::complete);
  EXPECT_EQ(Bytes(m.body.begin(), m.body.end()), body);
}

// ------------------------------------------------------------ Authentication

TEST(WirePostgresAuth, RealSaslMechanismLists) {
  Authentication a;
  ASSERT_EQ(parse_authentication(body_of(load("auth_sasl"), 'R'), a), Status::complete);
  EXPECT_EQ(a.code, kAuthSasl);
  EXPECT_EQ(a.mechanisms, (std::vector<std::string>{"SCRAM-SHA-256"}));
  ASSERT_EQ(parse_authentication(body_of(load("auth_sasl_tls"), 'R'), a), Status::complete);
  EXPECT_EQ(a.mechanisms, (std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}));
}

TEST(WirePostgresAuth, RealOtherCodes) {
  Authentication a;
  ASSERT_EQ(parse_authentication(body_of(load("auth_sasl_continue"), 'R'), a), Status::complete);
  EXPECT_EQ(a.code, kAuthSaslContinue);
  EXPECT_TRUE(a.mechanisms.empty());
  ASSERT_EQ(parse_authentication(body_of(load("auth_sasl_final"), 'R'), a), Status::complete);
  EXPECT_EQ(a.code, kAuthSaslFinal);
  ASSERT_EQ(parse_authentication(body_of(load("auth_ok"), 'R'), a), Status::complete);
  EXPECT_EQ(a.code, kAuthOk);
  // MD5Password: the 4-byte salt is not read.
  ASSERT_EQ(parse_authentication(cat({be32(5), Bytes{1, 2, 3, 4}}), a), Status::complete);
  EXPECT_EQ(a.code, 5u);
  ASSERT_EQ(parse_authentication(be32(3), a), Status::complete);
}

TEST(WirePostgresAuth, Truncations) {
  Authentication a;
  for (const char* name : {"auth_sasl", "auth_sasl_tls"}) {
    const Bytes body = body_of(load(name), 'R');
    for (std::size_t n = 0; n < body.size(); ++n)
      EXPECT_EQ(parse_authentication(prefix(body, n), a), Status::malformed) << name << " prefix " << n;
  }
  const Bytes cont = body_of(load("auth_sasl_continue"), 'R');
  for (std::size_t n = 0; n < cont.size(); ++n)
    EXPECT_EQ(parse_authentication(prefix(cont, n), a), n < 4 ? Status::malformed : Status::complete) << n;
}

TEST(WirePostgresAuth, SaslListLayout) {
  Authentication a;
  // The empty-string terminator is required, and nothing may follow it.
  EXPECT_EQ(parse_authentication(cat({be32(10), str(std::string_view("SCRAM-SHA-256\0", 14))}), a), Status::malformed);
  EXPECT_EQ(parse_authentication(cat({be32(10), str(std::string_view("SCRAM-SHA-256\0\0x", 16))}), a),
            Status::malformed);
  EXPECT_EQ(parse_authentication(be32(10), a), Status::malformed);
  EXPECT_EQ(a.code, 0u) << "a failed parse leaves nothing half-filled";
  // An empty list is well formed; refusing it is the driver's business.
  ASSERT_EQ(parse_authentication(cat({be32(10), Bytes{0}}), a), Status::complete);
  EXPECT_TRUE(a.mechanisms.empty());
}

// What snigate sends a client when channel binding cannot hold: the server's
// list without SCRAM-SHA-256-PLUS is byte for byte what a server offers over
// a plain link.
TEST(WirePostgresAuth, EncodeSaslWithoutPlusIsThePlainLinkOffer) {
  Authentication a;
  ASSERT_EQ(parse_authentication(body_of(load("auth_sasl_tls"), 'R'), a), Status::complete);
  std::erase(a.mechanisms, std::string("SCRAM-SHA-256-PLUS"));
  EXPECT_EQ(encode_authentication_sasl(a.mechanisms), load("auth_sasl"));
  EXPECT_EQ(encode_authentication_sasl({"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}), load("auth_sasl_tls"));
  // An empty list is still a well-formed message (code 10, the terminator).
  Authentication none;
  ASSERT_EQ(parse_authentication(body_of(encode_authentication_sasl({}), 'R'), none), Status::complete);
  EXPECT_EQ(none.code, kAuthSasl);
  EXPECT_TRUE(none.mechanisms.empty());
}

TEST(WirePostgresAuth, ExpectsClientReply) {
  EXPECT_FALSE(expects_client_reply(kAuthOk));
  EXPECT_FALSE(expects_client_reply(kAuthSaslFinal));
  for (std::uint32_t code : {2u, 3u, 5u, 7u, 8u, 9u, 10u, 11u}) EXPECT_TRUE(expects_client_reply(code)) << code;
}

// ------------------------------------------------------------ BackendKeyData

TEST(WirePostgresKeyData, KeyLengths) {
  CancelRequest k;
  const Bytes real = body_of(load("backend_key_data_cancelled"), 'K');
  for (std::size_t n = 0; n < real.size(); ++n)
    EXPECT_EQ(parse_backend_key_data(prefix(real, n), k), Status::malformed) << n;
  for (std::size_t n : {std::size_t{4}, std::size_t{32}, kMaxCancelKey}) {
    ASSERT_EQ(parse_backend_key_data(cat({be32(77), Bytes(n, 7)}), k), Status::complete) << n;
    EXPECT_EQ(k.pid, 77u);
    EXPECT_EQ(k.key.size(), n);
  }
  EXPECT_EQ(parse_backend_key_data(cat({be32(77), Bytes(kMaxCancelKey + 1, 7)}), k), Status::malformed);
  EXPECT_EQ(k.pid, 0u) << "a failed parse leaves nothing half-filled";
  EXPECT_TRUE(k.key.empty());
}

// ------------------------------------------------------------ ErrorResponse

TEST(WirePostgresError, RealWrongPassword) {
  ErrorFields e;
  ASSERT_EQ(parse_error_fields(body_of(load("error_wrong_password"), 'E'), e), Status::complete);
  std::string order;
  for (const auto& [t, v] : e.fields) order += t;
  EXPECT_EQ(order, "SVCMFLR");
  EXPECT_EQ(e.get('S'), "FATAL");
  EXPECT_EQ(e.get('V'), "FATAL");
  EXPECT_EQ(e.get('C'), "28P01");
  EXPECT_EQ(e.get('M'), "password authentication failed for user \"alice\"");
  EXPECT_EQ(e.get('R'), "auth_failed");
  EXPECT_EQ(e.get('H'), "");
}

TEST(WirePostgresError, RealCancelled) {
  ErrorFields e;
  ASSERT_EQ(parse_error_fields(body_of(load("error_cancelled"), 'E'), e), Status::complete);
  EXPECT_EQ(e.get('S'), "ERROR");
  EXPECT_EQ(e.get('C'), "57014");
  EXPECT_EQ(e.get('M'), "canceling statement due to user request");
}

TEST(WirePostgresError, Layout) {
  ErrorFields e;
  const Bytes body = body_of(load("error_wrong_password"), 'E');
  for (std::size_t n = 0; n < body.size(); ++n)
    EXPECT_EQ(parse_error_fields(prefix(body, n), e), Status::malformed) << n;
  Bytes trailing = body;
  trailing.push_back('x');
  EXPECT_EQ(parse_error_fields(trailing, e), Status::malformed);
  EXPECT_TRUE(e.fields.empty());
  ASSERT_EQ(parse_error_fields(Bytes{0}, e), Status::complete);
  EXPECT_TRUE(e.fields.empty());
  // A field without its NUL, even when the closing 0 seems present.
  EXPECT_EQ(parse_error_fields(str("Mabc"), e), Status::malformed);
}

TEST(WirePostgresError, EncodeExactBytes) {
  const Bytes b = encode_error("FATAL", "28000", "no route");
  const Bytes expected =
      cat({Bytes{'E'}, be32(4 + 7 + 7 + 7 + 10 + 1), str(std::string_view("SFATAL\0VFATAL\0C28000\0Mno route\0\0", 32))});
  EXPECT_EQ(b, expected);
  ErrorFields e;
  ASSERT_EQ(parse_error_fields(body_of(b, 'E'), e), Status::complete);
  EXPECT_EQ(e.fields.size(), 4u);
  EXPECT_EQ(e.get('M'), "no route");
}

TEST(WirePostgresError, EncodeWithHint) {
  ErrorFields e;
  ASSERT_EQ(parse_error_fields(body_of(encode_error("ERROR", "08004", "refused", "try later"), 'E'), e),
            Status::complete);
  std::string order;
  for (const auto& [t, v] : e.fields) order += t;
  EXPECT_EQ(order, "SVCMH");
  EXPECT_EQ(e.get('H'), "try later");
  EXPECT_EQ(e.get('V'), "ERROR");
}

TEST(WirePostgresError, EncodeCutsValuesAtNul) {
  ErrorFields e;
  const std::string_view msg("user \"a\0Mforged\"", 16);
  ASSERT_EQ(parse_error_fields(body_of(encode_error("FATAL", "28000", msg), 'E'), e), Status::complete);
  EXPECT_EQ(e.fields.size(), 4u);
  EXPECT_EQ(e.get('M'), "user \"a");
}

// ------------------------------------------------------------ SASLInitialResponse

TEST(WirePostgresSasl, RealGs2Flags) {
  struct Case {
    const char* file;
    const char* mechanism;
    char flag;
  };
  for (const Case& c : {Case{"sasl_initial_n", "SCRAM-SHA-256", 'n'}, Case{"sasl_initial_y", "SCRAM-SHA-256", 'y'},
                        Case{"sasl_initial_p", "SCRAM-SHA-256-PLUS", 'p'}}) {
    SaslInitialResponse r;
    const Bytes body = body_of(load(c.file), 'p');
    ASSERT_EQ(parse_sasl_initial_response(body, r), Status::complete) << c.file;
    EXPECT_EQ(r.mechanism, c.mechanism);
    EXPECT_EQ(r.gs2_flag, c.flag);
    for (std::size_t n = 0; n < body.size(); ++n)
      EXPECT_EQ(parse_sasl_initial_response(prefix(body, n), r), Status::malformed) << c.file << " prefix " << n;
    Bytes trailing = body;
    trailing.push_back('x');
    EXPECT_EQ(parse_sasl_initial_response(trailing, r), Status::malformed) << c.file;
    EXPECT_EQ(r.gs2_flag, 0);
  }
}

TEST(WirePostgresSasl, ClientFinalIsNotAnInitialResponse) {
  // Same 'p' type byte; only the conversation's state tells them apart.
  SaslInitialResponse r;
  EXPECT_EQ(parse_sasl_initial_response(body_of(load("sasl_response"), 'p'), r), Status::malformed);
}

TEST(WirePostgresSasl, LengthWord) {
  SaslInitialResponse r;
  const Bytes mech = str(std::string_view("SCRAM-SHA-256\0", 14));
  // -1: no initial response, and nothing may follow.
  ASSERT_EQ(parse_sasl_initial_response(cat({mech, be32(0xffffffff)}), r), Status::complete);
  EXPECT_EQ(r.mechanism, "SCRAM-SHA-256");
  EXPECT_EQ(r.gs2_flag, 0);
  EXPECT_EQ(parse_sasl_initial_response(cat({mech, be32(0xffffffff), str("n")}), r), Status::malformed);
  ASSERT_EQ(parse_sasl_initial_response(cat({mech, be32(0)}), r), Status::complete);
  EXPECT_EQ(r.gs2_flag, 0);
  const Bytes first = str("n,,n=,r=abc");
  ASSERT_EQ(parse_sasl_initial_response(cat({mech, be32(11), first}), r), Status::complete);
  EXPECT_EQ(r.gs2_flag, 'n');
  EXPECT_EQ(parse_sasl_initial_response(cat({mech, be32(12), first}), r), Status::malformed);
  EXPECT_EQ(parse_sasl_initial_response(cat({mech, be32(10), first}), r), Status::malformed);
  EXPECT_EQ(parse_sasl_initial_response(cat({mech, be32(0xfffffffe), first}), r), Status::malformed);
  EXPECT_EQ(parse_sasl_initial_response(cat({Bytes{0}, be32(11), first}), r), Status::malformed);
  EXPECT_EQ(parse_sasl_initial_response(cat({str("SCRAM"), be32(11), first}), r), Status::malformed);
}

// ------------------------------------------------------------ user@host

TEST(WirePostgresUserHost, Splits) {
  auto split = [](std::string_view s) {
    const UserHost uh = user_at_host(s);
    return std::pair<std::string, std::string>(uh.user, uh.host);
  };
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(split("alice@db.example.com"), (P{"alice", "db.example.com"}));
  EXPECT_EQ(split("a@b.org@db.example.com"), (P{"a@b.org", "db.example.com"}));
  EXPECT_EQ(split("alice"), (P{"alice", ""}));
  EXPECT_EQ(split("@db.example.com"), (P{"@db.example.com", ""}));
  EXPECT_EQ(split("alice@"), (P{"alice@", ""}));
  EXPECT_EQ(split("alice@db@"), (P{"alice@db@", ""}));
  EXPECT_EQ(split("@"), (P{"@", ""}));
  EXPECT_EQ(split(""), (P{"", ""}));
  // Views into the input, not copies.
  const std::string in = "bob@h";
  EXPECT_EQ(user_at_host(in).host.data(), in.data() + 4);
}

// libpq sends dbname = user when none is given, so user=alice@h asks for
// database "alice@h"; the server must get alice for both.
TEST(WirePostgresUserHost, StripHostFromLogin) {
  auto login = [](std::vector<std::pair<std::string, std::string>> params) {
    StartupMessage sm;
    sm.params = std::move(params);
    strip_host_from_login(sm, "alice");
    return sm.params;
  };
  using Params = std::vector<std::pair<std::string, std::string>>;
  // libpq's default: database equals the whole user@host.
  EXPECT_EQ(login({{"user", "alice@db.test"}, {"database", "alice@db.test"}, {"application_name", "psql"}}),
            (Params{{"user", "alice"}, {"database", "alice"}, {"application_name", "psql"}}));
  // No database at all (the server would default it to the user name it is given).
  EXPECT_EQ(login({{"user", "alice@db.test"}}), (Params{{"user", "alice"}, {"database", "alice"}}));
  // A database the client chose stays, even one that looks like user@host.
  EXPECT_EQ(login({{"user", "alice@db.test"}, {"database", "app"}}), (Params{{"user", "alice"}, {"database", "app"}}));
  EXPECT_EQ(login({{"user", "alice@db.test"}, {"database", "alice@other.test"}}),
            (Params{{"user", "alice"}, {"database", "alice@other.test"}}));
  EXPECT_EQ(login({{"user", "alice@db.test"}, {"database", "alice"}}),
            (Params{{"user", "alice"}, {"database", "alice"}}));
}

// ------------------------------------------------------------ robustness

// Every parser over one input; only asks for a status (the sanitizers do the rest).
void run_all(ByteView in) {
  if (in.size() >= 8) (void)classify_first(in);
  (void)startup_length(in);
  StartupMessage s;
  std::string why;
  const Status st = parse_startup(in, s, &why);
  if (st == Status::malformed || st == Status::too_large) {
    EXPECT_FALSE(why.empty());
  }
  if (st == Status::complete) {
    EXPECT_EQ(encode_startup(s), Bytes(in.begin(), in.end()));
  }
  CancelRequest c;
  if (parse_cancel(in, c) == Status::complete) {
    EXPECT_EQ(encode_cancel(c), Bytes(in.begin(), in.end()));
  }
  Authentication a;
  (void)parse_authentication(in, a);
  (void)parse_backend_key_data(in, c);
  ErrorFields e;
  (void)parse_error_fields(in, e);
  SaslInitialResponse r;
  (void)parse_sasl_initial_response(in, r);
  ByteView rest = in;
  for (;;) {
    Message m;
    if (split_message(rest, m) != Status::complete) break;
    ASSERT_LE(m.wire_size, rest.size());
    run_all(m.body);
    rest = rest.subspan(m.wire_size);
  }
}

TEST(WirePostgresRobust, EveryCaptureCutAndCorrupted) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir())) {
    if (entry.path().extension() != ".hex") continue;
    ++files;
    const Bytes b = load(entry.path().stem().string());
    for (std::size_t n = 0; n <= b.size(); ++n) run_all(prefix(b, n));
    for (std::size_t i = 0; i < b.size(); ++i) {
      for (std::uint8_t x : {std::uint8_t{0x00}, std::uint8_t{0xff}, std::uint8_t{0x01}, std::uint8_t{0x80}}) {
        Bytes m = b;
        m[i] = x;
        run_all(m);
        run_all(ByteView(m).subspan(i));
      }
    }
  }
  EXPECT_GE(files, 17u);
}

}  // namespace
}  // namespace snigate::wire::postgres
