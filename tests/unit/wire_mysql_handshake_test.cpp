// Greeting, SSLRequest and HandshakeResponse41. The .bin files under
// data/mysql/ are framed packets (header included) recorded by a python relay
// between real programs and MariaDB 10.11.19 (Debian 12, mariadbd with
// --ssl-cert/--ssl-key):
//   mariadb_greeting[_2]        the server's Initial Handshake (seq 0)
//   mariadb_ssl_request         `mariadb --ssl`: SSLRequest (seq 1)
//   mariadb_response_db         `mariadb --skip-ssl -u alice -D shop` (seq 1)
//   mariadb_response_ed_user    `mariadb -u ed` (an ed25519 account; the client still offers native)
//   mariadb_response_sha2       `mariadb --default-auth=caching_sha2_password`: empty auth response
//   mariadb_response_user_at_host `mariadb -u alice@db1.example.com`
//   pymysql_response[_db]       PyMySQL 1.0.2 connect() without / with database
//   pymysql_ssl_request         PyMySQL with ssl=
#include <gtest/gtest.h>

#include "test_data.hpp"
#include "wire/mysql.hpp"

namespace snigate::wire::mysql {
namespace {

Bytes load(const std::string& name) { return test::load_capture("mysql", name); }

struct Framed {
  Bytes payload;
  std::uint8_t seq = 0;
};

Framed unframe(const Bytes& framed) {
  Packet p;
  EXPECT_EQ(split_packet(framed, p), Status::complete);
  EXPECT_EQ(p.wire_size, framed.size());
  return {Bytes(p.payload.begin(), p.payload.end()), p.header.seq};
}

std::string text(ByteView b) { return std::string(detail::as_text(b)); }

// Server: MariaDB 10.11 advertises everything but CLIENT_MYSQL in the low
// word, and MariaDB extended caps 0x1d.
constexpr std::uint64_t kMariadbServerCaps = 0x81fffffeULL | 0x1dULL << 32;

TEST(WireMysqlGreeting, ParsesRealMariadbGreeting) {
  const Framed f = unframe(load("mariadb_greeting"));
  EXPECT_EQ(f.seq, 0);
  InitialHandshake hs;
  std::string err;
  ASSERT_EQ(parse_initial_handshake(f.payload, hs, &err), Status::complete) << err;
  EXPECT_EQ(hs.protocol, 10);
  EXPECT_EQ(hs.server_version, "5.5.5-10.11.19-MariaDB-0+deb12u1");
  EXPECT_EQ(hs.connection_id, 5u);
  EXPECT_EQ(hs.capabilities, kMariadbServerCaps);
  EXPECT_FALSE(hs.capabilities & CLIENT_MYSQL);
  EXPECT_TRUE(hs.capabilities & CLIENT_SSL);
  EXPECT_TRUE(hs.capabilities & CLIENT_DEPRECATE_EOF);
  EXPECT_TRUE(hs.capabilities & MARIADB_CLIENT_CACHE_METADATA);
  EXPECT_FALSE(hs.capabilities & MARIADB_CLIENT_COM_MULTI);
  EXPECT_EQ(hs.charset, 8);  // latin1_swedish_ci, MariaDB 10.11's default
  EXPECT_EQ(hs.status, SERVER_STATUS_AUTOCOMMIT);
  EXPECT_EQ(hs.scramble_len, 20u);
  EXPECT_EQ(text(hs.scramble_bytes()), "SZLM~Uj9{#5$SV8RtpWD");  // note: MariaDB does use '$'
  EXPECT_EQ(hs.auth_plugin, "mysql_native_password");
  EXPECT_EQ(encode_initial_handshake(hs), f.payload);  // byte for byte, auth-plugin-data-len 21
}

TEST(WireMysqlGreeting, ErrInsteadOfGreeting) {
  const Framed f = unframe(load("mariadb_err_too_many_connections"));
  InitialHandshake hs;
  ErrPacket e;
  std::string err;
  ASSERT_EQ(parse_initial_handshake(f.payload, hs, &err, &e), Status::is_error);
  EXPECT_EQ(e.code, 1040);
  EXPECT_EQ(e.message, "Too many connections");
  EXPECT_EQ(err, "server refused the connection: ERROR 1040: Too many connections");
  // Without an ErrPacket to fill, still is_error.
  EXPECT_EQ(parse_initial_handshake(f.payload, hs), Status::is_error);
  // A broken ERR is malformed, not is_error.
  EXPECT_EQ(parse_initial_handshake(Bytes{0xff, 0x10}, hs, &err, &e), Status::malformed);
}

InitialHandshake mysql8_greeting() {
  InitialHandshake hs;
  hs.server_version = "8.0.36";
  hs.connection_id = 0x01020304;
  const std::string s = "0123456789abcdefghij";
  std::copy(s.begin(), s.end(), hs.scramble.begin());
  // MySQL 8.0: bit 0 set (CLIENT_LONG_PASSWORD), so no MariaDB ext caps.
  hs.capabilities = 0xdfffffffULL;
  hs.charset = 255;
  hs.status = SERVER_STATUS_AUTOCOMMIT;
  hs.auth_plugin = "caching_sha2_password";
  return hs;
}

TEST(WireMysqlGreeting, MysqlStyleRoundTripHasNoExtCaps) {
  InitialHandshake hs = mysql8_greeting();
  hs.capabilities |= MARIADB_CLIENT_PROGRESS;  // cannot be sent with CLIENT_MYSQL: dropped
  const Bytes b = encode_initial_handshake(hs);
  InitialHandshake back;
  ASSERT_EQ(parse_initial_handshake(b, back), Status::complete);
  EXPECT_EQ(back.capabilities, 0xdfffffffULL);
  EXPECT_EQ(back.auth_plugin, "caching_sha2_password");
  EXPECT_EQ(text(back.scramble_bytes()), "0123456789abcdefghij");
  EXPECT_EQ(back.connection_id, 0x01020304u);
  EXPECT_EQ(back.charset, 255);
}

TEST(WireMysqlGreeting, VariantsRealServersSend) {
  const InitialHandshake hs = mysql8_greeting();
  const Bytes b = encode_initial_handshake(hs);
  // Layout offsets: version "8.0.36\0" is 7 bytes after the protocol byte.
  const std::size_t len_at = 1 + 7 + 4 + 8 + 1 + 2 + 1 + 2 + 2;
  ASSERT_EQ(b[len_at], 21);
  InitialHandshake out;
  std::string err;

  Bytes zero_len = b;  // auth-plugin-data-len 0: part 2 is still 12 + NUL
  zero_len[len_at] = 0;
  ASSERT_EQ(parse_initial_handshake(zero_len, out, &err), Status::complete) << err;
  EXPECT_EQ(text(out.scramble_bytes()), "0123456789abcdefghij");

  Bytes twenty = b;  // a length that does not count the NUL
  twenty[len_at] = 20;
  ASSERT_EQ(parse_initial_handshake(twenty, out, &err), Status::complete) << err;
  EXPECT_EQ(out.scramble_len, 20u);

  Bytes no_nul = b;  // MySQL 5.5.7-5.5.9: plugin name without its NUL
  no_nul.pop_back();
  ASSERT_EQ(parse_initial_handshake(no_nul, out, &err), Status::complete) << err;
  EXPECT_EQ(out.auth_plugin, "caching_sha2_password");

  Bytes longer = b;  // 30 bytes of plugin data announced: more than a scramble
  longer[len_at] = 30;
  EXPECT_EQ(parse_initial_handshake(longer, out, &err), Status::malformed);

  Bytes v9 = b;
  v9[0] = 9;
  EXPECT_EQ(parse_initial_handshake(v9, out, &err), Status::malformed);
  EXPECT_NE(err.find("protocol version"), std::string::npos);

  InitialHandshake old = hs;  // no SECURE_CONNECTION, no PLUGIN_AUTH: an 8-byte scramble
  old.capabilities &= ~(CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH);
  ASSERT_EQ(parse_initial_handshake(encode_initial_handshake(old), out, &err), Status::complete) << err;
  EXPECT_EQ(out.scramble_len, 8u);
  EXPECT_EQ(out.auth_plugin, "");

  // A 4.0-era greeting that stops after the low capability word.
  const Bytes short_greeting(b.begin(), b.begin() + 1 + 7 + 4 + 8 + 1 + 2);
  ASSERT_EQ(parse_initial_handshake(short_greeting, out, &err), Status::complete) << err;
  EXPECT_EQ(out.capabilities, 0xffffu);
  EXPECT_EQ(out.scramble_len, 8u);
}

TEST(WireMysqlGreeting, SnigateGreetingForClients) {
  // What the session driver sends: its own scramble, CLIENT_SSL, MariaDB-style caps.
  InitialHandshake hs;
  hs.server_version = "5.5.5-10.11.0-snigate";
  hs.connection_id = 42;
  hs.scramble = make_scramble();
  hs.capabilities = kMariadbServerCaps;
  hs.charset = 45;
  hs.status = SERVER_STATUS_AUTOCOMMIT;
  hs.auth_plugin = std::string(kNativePassword);
  const Bytes b = encode_initial_handshake(hs);
  InitialHandshake back;
  ASSERT_EQ(parse_initial_handshake(b, back), Status::complete);
  EXPECT_EQ(back.capabilities, hs.capabilities);
  EXPECT_EQ(back.scramble, hs.scramble);
  EXPECT_EQ(encode_initial_handshake(back), b);
}

TEST(WireMysqlSslRequest, RealMariadbAndPymysql) {
  const Framed m = unframe(load("mariadb_ssl_request"));
  EXPECT_EQ(m.seq, 1);
  ASSERT_TRUE(is_ssl_request(m.payload));
  SslRequest req;
  ASSERT_EQ(parse_ssl_request(m.payload, req), Status::complete);
  EXPECT_EQ(req.capabilities, 0x00bfaa84u);  // mariadb 10.11 client: no CLIENT_MYSQL
  EXPECT_EQ(req.max_packet, 1u << 20);
  EXPECT_EQ(req.charset, 33);  // utf8mb3_general_ci
  EXPECT_EQ(req.mariadb_ext_caps, 0x1du);
  EXPECT_EQ(req.all_capabilities(), 0x00bfaa84ULL | 0x1dULL << 32);
  EXPECT_EQ(encode_ssl_request(req), m.payload);

  const Framed p = unframe(load("pymysql_ssl_request"));
  ASSERT_TRUE(is_ssl_request(p.payload));
  ASSERT_EQ(parse_ssl_request(p.payload, req), Status::complete);
  EXPECT_EQ(req.capabilities, 0x003aaa05u);  // PyMySQL sets bit 0: a "MySQL" client
  EXPECT_EQ(req.max_packet, 0xffffffu);
  EXPECT_EQ(req.charset, 45);  // utf8mb4_general_ci
  EXPECT_EQ(req.mariadb_ext_caps, 0u);
  EXPECT_EQ(encode_ssl_request(req), p.payload);

  // A HandshakeResponse41 is never an SSLRequest, and vice versa.
  const Framed r = unframe(load("mariadb_response_db"));
  EXPECT_FALSE(is_ssl_request(r.payload));
  HandshakeResponse hr;
  std::string err;
  EXPECT_EQ(parse_handshake_response(m.payload, hr, &err), Status::malformed);
  EXPECT_NE(err.find("SSLRequest"), std::string::npos);
  EXPECT_EQ(parse_ssl_request(r.payload, req, &err), Status::malformed);
  Bytes no_ssl = m.payload;
  no_ssl[1] &= ~(CLIENT_SSL >> 8);
  EXPECT_FALSE(is_ssl_request(no_ssl));
  EXPECT_EQ(parse_ssl_request(no_ssl, req, &err), Status::malformed);
}

TEST(WireMysqlResponse, RealMariadbClientWithDatabase) {
  const Framed f = unframe(load("mariadb_response_db"));
  EXPECT_EQ(f.seq, 1);
  HandshakeResponse hr;
  std::string err;
  ASSERT_EQ(parse_handshake_response(f.payload, hr, &err), Status::complete) << err;
  EXPECT_EQ(hr.capabilities, 0x00bfa28cULL | 0x1dULL << 32);
  EXPECT_TRUE(hr.capabilities & CLIENT_CONNECT_WITH_DB);
  EXPECT_FALSE(hr.capabilities & CLIENT_DEPRECATE_EOF);  // the mariadb client does not ask for it
  EXPECT_TRUE(hr.capabilities & CLIENT_SESSION_TRACK);
  EXPECT_EQ(hr.max_packet, 1u << 20);
  EXPECT_EQ(hr.charset, 33);
  EXPECT_EQ(hr.user, "alice");
  EXPECT_EQ(hr.auth_response.size(), 20u);
  EXPECT_EQ(hr.database, "shop");
  EXPECT_EQ(hr.auth_plugin, "mysql_native_password");
  ASSERT_TRUE(hr.has_attrs);
  ASSERT_GE(hr.attrs.size(), 5u);
  EXPECT_EQ(hr.attrs[0], (std::pair<std::string, std::string>{"_os", "Linux"}));
  EXPECT_EQ(hr.attrs[1], (std::pair<std::string, std::string>{"_client_name", "libmariadb"}));
  EXPECT_EQ(hr.attrs.back(), (std::pair<std::string, std::string>{"_server_host", "127.0.0.1"}));
  const auto back = encode_handshake_response(hr);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, f.payload);
}

TEST(WireMysqlResponse, RealClientsRoundTripByteForByte) {
  for (const char* name : {"mariadb_response_db", "mariadb_response_ed_user", "mariadb_response_sha2",
                           "mariadb_response_user_at_host", "pymysql_response", "pymysql_response_db"}) {
    const Framed f = unframe(load(name));
    HandshakeResponse hr;
    std::string err;
    ASSERT_EQ(parse_handshake_response(f.payload, hr, &err), Status::complete) << name << ": " << err;
    const auto back = encode_handshake_response(hr);
    ASSERT_TRUE(back) << name;
    EXPECT_EQ(*back, f.payload) << name;
  }
}

TEST(WireMysqlResponse, RealPymysql) {
  const Framed f = unframe(load("pymysql_response_db"));
  HandshakeResponse hr;
  ASSERT_EQ(parse_handshake_response(f.payload, hr), Status::complete);
  EXPECT_EQ(hr.capabilities, 0x003aa20dULL);  // bit 0 set: no MariaDB ext caps
  EXPECT_TRUE(hr.capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA);
  EXPECT_EQ(hr.user, "alice");
  EXPECT_EQ(hr.database, "shop");
  EXPECT_EQ(hr.auth_response.size(), 20u);
  EXPECT_EQ(hr.auth_plugin, "mysql_native_password");
  EXPECT_EQ(hr.attrs.size(), 3u);
  EXPECT_EQ(hr.attrs[0].second, "pymysql");
  const Framed nodb = unframe(load("pymysql_response"));
  ASSERT_EQ(parse_handshake_response(nodb.payload, hr), Status::complete);
  EXPECT_FALSE(hr.capabilities & CLIENT_CONNECT_WITH_DB);
  EXPECT_EQ(hr.database, "");
}

TEST(WireMysqlResponse, SwitchOfferAndEmptyAuth) {
  // `--default-auth=caching_sha2_password` against a native account: the client
  // sends an empty auth response and names its plugin; the server switches.
  const Framed f = unframe(load("mariadb_response_sha2"));
  HandshakeResponse hr;
  ASSERT_EQ(parse_handshake_response(f.payload, hr), Status::complete);
  EXPECT_TRUE(hr.auth_response.empty());
  EXPECT_EQ(hr.auth_plugin, "caching_sha2_password");
}

TEST(WireMysqlResponse, RewriteUserAtHostForTheBackend) {
  const Framed f = unframe(load("mariadb_response_user_at_host"));
  HandshakeResponse hr;
  ASSERT_EQ(parse_handshake_response(f.payload, hr), Status::complete);
  EXPECT_EQ(hr.user, "alice@db1.example.com");
  const UserHost uh = user_at_host(hr.user);
  EXPECT_EQ(uh.host, "db1.example.com");
  // What the driver does: backend user, the client's answer to the backend's
  // scramble, the capabilities agreed with the backend.
  hr.user = std::string(uh.user);
  hr.auth_response.assign(20, 0xab);
  hr.capabilities &= kMariadbServerCaps;
  const auto b = encode_handshake_response(hr);
  ASSERT_TRUE(b);
  HandshakeResponse back;
  ASSERT_EQ(parse_handshake_response(*b, back), Status::complete);
  EXPECT_EQ(back.user, "alice");
  EXPECT_EQ(back.auth_response, Bytes(20, 0xab));
  EXPECT_EQ(back.attrs, hr.attrs);
  EXPECT_EQ(back.capabilities, hr.capabilities);
  EXPECT_EQ(b->size(), f.payload.size() - std::string_view("@db1.example.com").size());
}

HandshakeResponse synthetic(std::uint64_t caps) {
  HandshakeResponse hr;
  hr.capabilities = caps | CLIENT_PROTOCOL_41;
  hr.max_packet = 1 << 24;
  hr.charset = 45;
  hr.user = "bob";
  hr.auth_response = {1, 2, 3, 4};
  hr.database = "db";
  hr.auth_plugin = "mysql_native_password";
  hr.attrs = {{"k", "v"}, {"", ""}};
  hr.has_attrs = true;
  return hr;
}

TEST(WireMysqlResponse, AllThreeAuthEncodings) {
  const std::uint64_t rest = CLIENT_CONNECT_WITH_DB | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS;
  for (const std::uint64_t enc :
       {CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SECURE_CONNECTION, CLIENT_SECURE_CONNECTION, std::uint64_t{0}}) {
    const HandshakeResponse hr = synthetic(enc | rest);
    const auto b = encode_handshake_response(hr);
    ASSERT_TRUE(b) << enc;
    const std::size_t auth_at = 32 + 4;  // after "bob\0"
    if (enc & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA || enc & CLIENT_SECURE_CONNECTION) {
      EXPECT_EQ((*b)[auth_at], 4);
    } else {
      EXPECT_EQ((*b)[auth_at + 4], 0);  // NUL-terminated
    }
    HandshakeResponse back;
    std::string err;
    ASSERT_EQ(parse_handshake_response(*b, back, &err), Status::complete) << err;
    EXPECT_EQ(back.auth_response, hr.auth_response);
    EXPECT_EQ(back.database, "db");
    EXPECT_EQ(back.auth_plugin, "mysql_native_password");
    EXPECT_EQ(back.attrs, hr.attrs);
    EXPECT_EQ(*encode_handshake_response(back), *b);
  }
  // A long answer (e.g. RSA-sized) needs lenenc: 300 bytes round-trip with it, refused without.
  HandshakeResponse big = synthetic(CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SECURE_CONNECTION | rest);
  big.auth_response.assign(300, 7);
  const auto b = encode_handshake_response(big);
  ASSERT_TRUE(b);
  HandshakeResponse back;
  ASSERT_EQ(parse_handshake_response(*b, back), Status::complete);
  EXPECT_EQ(back.auth_response.size(), 300u);
  big.capabilities &= ~CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
  EXPECT_FALSE(encode_handshake_response(big));
}

TEST(WireMysqlResponse, FieldsOnlyWithTheirFlags) {
  HandshakeResponse hr = synthetic(CLIENT_SECURE_CONNECTION);  // no db, plugin, attrs flags
  const auto b = encode_handshake_response(hr);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->size(), 32u + 4 + 1 + 4);
  HandshakeResponse back;
  ASSERT_EQ(parse_handshake_response(*b, back), Status::complete);
  EXPECT_EQ(back.database, "");
  EXPECT_EQ(back.auth_plugin, "");
  EXPECT_FALSE(back.has_attrs);
  // Flags set but the packet ends after the auth response: accepted, fields empty.
  Bytes flagged = *b;
  flagged[2] |= static_cast<std::uint8_t>((CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS) >> 16);
  flagged[0] |= CLIENT_CONNECT_WITH_DB;
  ASSERT_EQ(parse_handshake_response(flagged, back), Status::complete);
  EXPECT_FALSE(back.has_attrs);
  // zstd level only with its flag.
  hr = synthetic(CLIENT_SECURE_CONNECTION | CLIENT_ZSTD_COMPRESSION_ALGORITHM | CLIENT_CONNECT_ATTRS);
  hr.zstd_level = 3;
  const auto z = encode_handshake_response(hr);
  ASSERT_TRUE(z);
  EXPECT_EQ(z->back(), 3);
  ASSERT_EQ(parse_handshake_response(*z, back), Status::complete);
  EXPECT_EQ(back.zstd_level, 3);
}

TEST(WireMysqlResponse, MalformedAndUnencodable) {
  HandshakeResponse hr;
  std::string err;
  const auto good = *encode_handshake_response(synthetic(CLIENT_SECURE_CONNECTION | CLIENT_CONNECT_ATTRS));
  Bytes no41 = good;
  no41[1] &= ~(CLIENT_PROTOCOL_41 >> 8);
  EXPECT_EQ(parse_handshake_response(no41, hr, &err), Status::malformed);
  EXPECT_NE(err.find("HandshakeResponse320"), std::string::npos);
  Bytes attrs_too_long = good;
  attrs_too_long[32 + 4 + 5] = 200;  // the attrs block length
  EXPECT_EQ(parse_handshake_response(attrs_too_long, hr, &err), Status::malformed);
  EXPECT_NE(err.find("connect attributes"), std::string::npos);
  Bytes auth_too_long = good;
  auth_too_long[32 + 4] = 100;
  EXPECT_EQ(parse_handshake_response(auth_too_long, hr, &err), Status::malformed);
  Bytes pair_cut = good;
  pair_cut[32 + 4 + 5] = 2;  // a block of 2 bytes: the key "k" and no value
  pair_cut.resize(32 + 4 + 5 + 1 + 2);
  EXPECT_EQ(parse_handshake_response(pair_cut, hr, &err), Status::malformed);
  EXPECT_NE(err.find("value"), std::string::npos);

  HandshakeResponse bad = synthetic(CLIENT_SECURE_CONNECTION);
  bad.user = std::string("a\0b", 3);
  EXPECT_FALSE(encode_handshake_response(bad));
  bad = synthetic(0);  // NUL-terminated auth cannot carry a NUL
  bad.auth_response = {1, 0, 2};
  EXPECT_FALSE(encode_handshake_response(bad));
  bad = synthetic(CLIENT_SECURE_CONNECTION);
  bad.capabilities &= ~CLIENT_PROTOCOL_41;
  EXPECT_FALSE(encode_handshake_response(bad));
}

}  // namespace
}  // namespace snigate::wire::mysql
