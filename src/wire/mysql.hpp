#pragma once
// MySQL / MariaDB client-server protocol: the packets of the connection phase
// (greeting, SSLRequest, HandshakeResponse41, auth switch and more-data, OK,
// ERR), framing, and length-encoded values. Pure codecs: no I/O, standard
// library only. Parsers take one packet's payload (framing removed by
// split_packet) and never read outside it; encoders return payload bytes
// (frame() adds the 4-byte header) except encode_err, which is framed.
//
// References: MySQL "Connection Phase" pages (dev.mysql.com/doc/dev/mysql-server,
// page_protocol_connection_phase*), MariaDB "Connection" and "Protocol
// differences with MySQL" pages. Captures of MariaDB 10.11, its `mariadb`
// client and PyMySQL 1.0 are in tests/unit/data/mysql/.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace snigate::wire::mysql {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// ------------------------------------------------------------ capabilities
// One 64-bit set: MySQL's 32 bits below, MariaDB's extended capabilities in the
// upper 32 bits. MariaDB sends those only when CLIENT_MYSQL (bit 0, which MySQL
// calls CLIENT_LONG_PASSWORD) is clear, in the last 4 bytes of the greeting's
// 10-byte reserved field and of the response's 23-byte filler; a peer that sets
// bit 0 is "MySQL" (MySQL servers, PyMySQL, old MariaDB) and has none.
inline constexpr std::uint64_t CLIENT_LONG_PASSWORD = 1ULL << 0;
inline constexpr std::uint64_t CLIENT_MYSQL = 1ULL << 0;  // MariaDB's name for bit 0
inline constexpr std::uint64_t CLIENT_FOUND_ROWS = 1ULL << 1;
inline constexpr std::uint64_t CLIENT_LONG_FLAG = 1ULL << 2;
inline constexpr std::uint64_t CLIENT_CONNECT_WITH_DB = 1ULL << 3;
inline constexpr std::uint64_t CLIENT_NO_SCHEMA = 1ULL << 4;
inline constexpr std::uint64_t CLIENT_COMPRESS = 1ULL << 5;
inline constexpr std::uint64_t CLIENT_ODBC = 1ULL << 6;
inline constexpr std::uint64_t CLIENT_LOCAL_FILES = 1ULL << 7;
inline constexpr std::uint64_t CLIENT_IGNORE_SPACE = 1ULL << 8;
inline constexpr std::uint64_t CLIENT_PROTOCOL_41 = 1ULL << 9;
inline constexpr std::uint64_t CLIENT_INTERACTIVE = 1ULL << 10;
inline constexpr std::uint64_t CLIENT_SSL = 1ULL << 11;
inline constexpr std::uint64_t CLIENT_IGNORE_SIGPIPE = 1ULL << 12;
inline constexpr std::uint64_t CLIENT_TRANSACTIONS = 1ULL << 13;
inline constexpr std::uint64_t CLIENT_RESERVED = 1ULL << 14;
inline constexpr std::uint64_t CLIENT_SECURE_CONNECTION = 1ULL << 15;
inline constexpr std::uint64_t CLIENT_MULTI_STATEMENTS = 1ULL << 16;
inline constexpr std::uint64_t CLIENT_MULTI_RESULTS = 1ULL << 17;
inline constexpr std::uint64_t CLIENT_PS_MULTI_RESULTS = 1ULL << 18;
inline constexpr std::uint64_t CLIENT_PLUGIN_AUTH = 1ULL << 19;
inline constexpr std::uint64_t CLIENT_CONNECT_ATTRS = 1ULL << 20;
inline constexpr std::uint64_t CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1ULL << 21;
inline constexpr std::uint64_t CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS = 1ULL << 22;
inline constexpr std::uint64_t CLIENT_SESSION_TRACK = 1ULL << 23;
inline constexpr std::uint64_t CLIENT_DEPRECATE_EOF = 1ULL << 24;
inline constexpr std::uint64_t CLIENT_OPTIONAL_RESULTSET_METADATA = 1ULL << 25;  // MySQL 8.0.3+
inline constexpr std::uint64_t CLIENT_ZSTD_COMPRESSION_ALGORITHM = 1ULL << 26;   // MySQL 8.0.18+
inline constexpr std::uint64_t CLIENT_QUERY_ATTRIBUTES = 1ULL << 27;             // MySQL 8.0.23+
inline constexpr std::uint64_t MULTI_FACTOR_AUTHENTICATION = 1ULL << 28;         // MySQL 8.0.27+
inline constexpr std::uint64_t CLIENT_CAPABILITY_EXTENSION = 1ULL << 29;         // MySQL (reserved)
inline constexpr std::uint64_t CLIENT_PROGRESS_OBSOLETE = 1ULL << 29;            // MariaDB's old bit 29
inline constexpr std::uint64_t CLIENT_SSL_VERIFY_SERVER_CERT = 1ULL << 30;
inline constexpr std::uint64_t CLIENT_REMEMBER_OPTIONS = 1ULL << 31;
// MariaDB extended capabilities (upper 32 bits).
inline constexpr std::uint64_t MARIADB_CLIENT_PROGRESS = 1ULL << 32;
inline constexpr std::uint64_t MARIADB_CLIENT_COM_MULTI = 1ULL << 33;  // reserved, never use
inline constexpr std::uint64_t MARIADB_CLIENT_STMT_BULK_OPERATIONS = 1ULL << 34;
inline constexpr std::uint64_t MARIADB_CLIENT_EXTENDED_METADATA = 1ULL << 35;
inline constexpr std::uint64_t MARIADB_CLIENT_CACHE_METADATA = 1ULL << 36;
inline constexpr std::uint64_t MARIADB_CLIENT_BULK_UNIT_RESULTS = 1ULL << 37;

// Flags that change the bytes (or the numbers) the server sends after
// authentication. snigate relays those bytes untouched, so for each of these
// the backend must get exactly the client's choice: the driver refuses when
// the client chose one the backend does not offer, rather than let the legs
// disagree silently.
inline constexpr std::uint64_t kWireFormatCaps =
    CLIENT_PROTOCOL_41 | CLIENT_FOUND_ROWS | CLIENT_COMPRESS | CLIENT_ZSTD_COMPRESSION_ALGORITHM |
    CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF |
    CLIENT_OPTIONAL_RESULTSET_METADATA | CLIENT_QUERY_ATTRIBUTES | MARIADB_CLIENT_PROGRESS |
    MARIADB_CLIENT_STMT_BULK_OPERATIONS | MARIADB_CLIENT_EXTENDED_METADATA | MARIADB_CLIENT_CACHE_METADATA |
    MARIADB_CLIENT_BULK_UNIT_RESULTS;

// Server status flags (OK packet) that the connection phase cares about.
inline constexpr std::uint16_t SERVER_STATUS_AUTOCOMMIT = 0x0002;
inline constexpr std::uint16_t SERVER_SESSION_STATE_CHANGED = 0x4000;

// ------------------------------------------------------------ status
enum class Status {
  complete,   // parsed / split; out is filled
  need_more,  // split_packet only: a valid prefix, read more
  too_large,  // split_packet only: the header announces more than the caller's cap
  malformed,  // not a valid packet of that kind; error says why and where
  is_error,   // the peer sent an ERR packet instead (parse_initial_handshake)
};
std::string_view status_name(Status s);

// ------------------------------------------------------------ reader / writer
// A bounds-checked little-endian cursor over one payload. Every getter returns
// false (and leaves pos where the failed field starts) when the bytes are not
// there; nothing reads past in.end().
struct Reader {
  ByteView in;
  std::size_t pos = 0;

  std::size_t left() const { return in.size() - pos; }
  bool at_end() const { return pos == in.size(); }
  bool u8(std::uint8_t& v);
  bool uint(std::size_t n, std::uint64_t& v);  // n-byte little-endian integer, n <= 8
  // Length-encoded integer: < 0xfb one byte; 0xfc +2; 0xfd +3; 0xfe +8. 0xfb
  // (NULL in rows) and 0xff (ERR marker) are not integers: false.
  bool lenenc(std::uint64_t& v);
  bool bytes(std::size_t n, ByteView& v);
  bool lenenc_bytes(ByteView& v);      // lenenc length, then that many bytes
  bool nul_string(std::string_view& v);  // up to a NUL, which is consumed; false without one
  ByteView rest();                     // everything left (string<EOF>); consumes it
};

// Appends to a byte vector.
struct Writer {
  Bytes& out;
  void u8(std::uint8_t v) { out.push_back(v); }
  void uint(std::uint64_t v, std::size_t n);  // n-byte little-endian
  void lenenc(std::uint64_t v);
  void bytes(ByteView v) { out.insert(out.end(), v.begin(), v.end()); }
  void bytes(std::string_view v) { out.insert(out.end(), v.begin(), v.end()); }
  void lenenc_bytes(ByteView v);
  void lenenc_bytes(std::string_view v);
  void nul_string(std::string_view v);  // v must not contain a NUL (callers check)
  void zeros(std::size_t n) { out.insert(out.end(), n, 0); }
};

std::size_t lenenc_size(std::uint64_t v);  // bytes Writer::lenenc writes for v

// ------------------------------------------------------------ framing
// Every packet: int<3> payload length, int<1> sequence id, payload. A payload
// of exactly 0xffffff bytes means "continued in the next packet" (a logical
// packet of 16 MiB or more is a run of such packets ending with a shorter one,
// possibly empty). Connection-phase packets are small, so the session splits
// them with kMaxHandshakePayload and treats anything larger as a refusal.
inline constexpr std::size_t kHeaderSize = 4;
inline constexpr std::uint32_t kMaxPayload = 0xffffff;
// The biggest real response seen is a few hundred bytes; connect attributes
// are capped at 64 KiB by MySQL servers (performance_schema_session_connect_attrs_size
// is far smaller). 64 KiB leaves room and bounds what an unauthenticated peer
// can make us buffer.
inline constexpr std::uint32_t kMaxHandshakePayload = 64 * 1024;

struct PacketHeader {
  std::uint32_t length = 0;  // payload bytes, 0 .. 0xffffff
  std::uint8_t seq = 0;
};

struct Packet {
  PacketHeader header;
  ByteView payload;            // points into the caller's buffer
  std::size_t wire_size = 0;   // kHeaderSize + payload size: bytes to consume
  bool continues = false;      // length == 0xffffff: the logical packet goes on in the next one
};

// data: bytes received so far, starting at a packet boundary. complete: out
// describes the first packet. need_more: fewer than 4 + length bytes. too_large:
// the header announces a payload above max_payload (decided from the header
// alone, so a peer cannot make us wait for 16 MiB). With the default cap a
// continued (0xffffff) packet is therefore too_large; pass kMaxPayload to
// accept one and see out.continues.
Status split_packet(ByteView data, Packet& out, std::uint32_t max_payload = kMaxHandshakePayload);

// Header + payload. A payload of 0xffffff bytes or more is written as several
// packets with consecutive sequence ids (wrapping at 256) as the protocol
// requires, the last one shorter than 0xffffff (possibly empty).
Bytes frame(std::uint8_t seq, ByteView payload);

// ------------------------------------------------------------ ERR and OK
struct ErrPacket {
  std::uint16_t code = 0;
  std::string sql_state;  // 5 characters, or empty when the server sent no '#' marker
  std::string message;
};

// ERR: 0xff, int<2> code, ['#', string<5> sqlstate], string<EOF> message. The
// sqlstate is present when the client has CLIENT_PROTOCOL_41 -- but a server
// that refuses before its greeting (1040 Too many connections, 1129 host
// blocked, 1130 host not allowed) does not know the client's capabilities and
// sends none, so the marker is detected, not assumed. Code 0xffff is MariaDB's
// progress report (command phase only), not an error: malformed here.
Status parse_err(ByteView payload, ErrPacket& out, std::string* error = nullptr);
// Payload only. with_sql_state: false for a refusal sent before the client has
// said it speaks 4.1 (the server's own behaviour).
Bytes encode_err_payload(const ErrPacket& err, bool with_sql_state = true);
// A complete framed ERR packet, ready to write. seq: the client's last sequence
// id + 1 (0 when it replaces the greeting).
Bytes encode_err(std::uint16_t code, std::string_view sql_state, std::string_view message, std::uint8_t seq);

// Codes snigate uses for its own refusals. Each is a code MySQL and MariaDB
// servers themselves send for the closest situation, with that code's own
// SQLSTATE, so clients show and classify it as they would the server's. Client
// library codes (2003 "Can't connect", 2013 "Lost connection") are avoided:
// connectors raise those for their own local failures and may retry on them.
struct ErrCode {
  std::uint16_t code;
  const char* sql_state;
};
// No router matches the name asked for, or no name was sent: the server's
// "Host '%s' is not allowed to connect" refusal -- a non-transient, connection
// time refusal that is not about the password.
inline constexpr ErrCode kErrNoRoute{1130, "HY000"};  // ER_HOST_NOT_PRIVILEGED
// A middleware's ipAllowList does not hold the client's address: the same code.
inline constexpr ErrCode kErrHostNotAllowed{1130, "HY000"};  // ER_HOST_NOT_PRIVILEGED
// Refusals about credentials or transport (plaintext not allowed, the account
// needs TLS): what servers send for REQUIRE SSL accounts and bad passwords.
inline constexpr ErrCode kErrAccessDenied{1045, "28000"};  // ER_ACCESS_DENIED_ERROR
// The backend could not be reached or broke off its handshake: the code the
// server's FEDERATED engine sends when the remote server it proxies to is down.
inline constexpr ErrCode kErrBackendUnreachable{1429, "HY000"};  // ER_CONNECT_TO_FOREIGN_DATA_SOURCE
// The client was too slow at some step (connect_timeout on the server).
inline constexpr ErrCode kErrTimeout{1159, "08S01"};  // ER_NET_READ_INTERRUPTED
// The client's packet does not parse, or is out of order: the server's own
// "Bad handshake".
inline constexpr ErrCode kErrBadHandshake{1043, "08S01"};  // ER_HANDSHAKE_ERROR
// Something snigate cannot do (COM_CHANGE_USER, a capability mismatch, a pre-4.1
// client): "This version of MariaDB doesn't yet support '%s'".
inline constexpr ErrCode kErrNotSupported{1235, "42000"};  // ER_NOT_SUPPORTED_YET
// snigate is at its connection limit, or a middleware's inFlightConn or
// rateLimit is for this client's address.
inline constexpr ErrCode kErrTooManyConnections{1040, "08004"};  // ER_CON_COUNT_ERROR

struct OkPacket {
  std::uint64_t affected_rows = 0;
  std::uint64_t last_insert_id = 0;
  std::uint16_t status = 0;
  std::uint16_t warnings = 0;
  std::string info;
  Bytes session_state;  // raw session-state-change block (CLIENT_SESSION_TRACK)
};
// OK: header 0x00 (or 0xfe, the OK-instead-of-EOF form under
// CLIENT_DEPRECATE_EOF, never in the connection phase), lenenc affected rows,
// lenenc last insert id, and with CLIENT_PROTOCOL_41 int<2> status, int<2>
// warnings. Then with CLIENT_SESSION_TRACK: lenenc info (if any bytes are left)
// and, when SERVER_SESSION_STATE_CHANGED, the lenenc session-state block;
// without it: string<EOF> info. caps: the capabilities agreed for the connection.
Status parse_ok(ByteView payload, std::uint64_t caps, OkPacket& out, std::string* error = nullptr);
Bytes encode_ok(const OkPacket& ok, std::uint64_t caps);

// ------------------------------------------------------------ initial handshake
struct InitialHandshake {
  std::uint8_t protocol = 10;
  std::string server_version;  // MariaDB prefixes "5.5.5-" for old replication clients
  std::uint32_t connection_id = 0;
  // auth-plugin-data parts 1 and 2 without the trailing NUL; 20 bytes for every
  // current plugin (mysql_native_password, caching_sha2_password, ed25519's
  // greeting). scramble_len is 8 only for a server without SECURE_CONNECTION.
  std::array<std::uint8_t, 20> scramble{};
  std::size_t scramble_len = 20;
  std::uint64_t capabilities = 0;  // incl. MariaDB extended bits when CLIENT_MYSQL is clear
  std::uint8_t charset = 0;
  std::uint16_t status = 0;
  std::string auth_plugin;  // empty without CLIENT_PLUGIN_AUTH

  ByteView scramble_bytes() const { return {scramble.data(), scramble_len}; }
};

// Protocol 10 only (9 predates MySQL 3.22). An ERR instead of a greeting is
// reported as is_error with *err filled (when given) and error set to a text
// that includes the server's code and message. Accepts the variants real
// servers send: auth-plugin-data-len 21 (20 + NUL) or 0, part 2 longer than 12
// bytes + NUL only up to the 20-byte scramble, a plugin name without its NUL
// (MySQL 5.5.7-5.5.9), and a greeting that stops after the low capabilities.
Status parse_initial_handshake(ByteView payload, InitialHandshake& out, std::string* error = nullptr,
                               ErrPacket* err = nullptr);
// Writes what MySQL 8 and MariaDB write: auth-plugin-data-len = scramble_len + 1
// with CLIENT_PLUGIN_AUTH (else 0), part 2 padded to 12 bytes and NUL-terminated,
// MariaDB extended capabilities in the reserved field when CLIENT_MYSQL is clear.
Bytes encode_initial_handshake(const InitialHandshake& hs);

// ------------------------------------------------------------ SSLRequest
// The first 32 bytes of a HandshakeResponse41 with CLIENT_SSL, sent alone before
// the TLS handshake. The response that follows it over TLS repeats these fields.
struct SslRequest {
  std::uint32_t capabilities = 0;  // the low 32 bits
  std::uint32_t max_packet = 0;
  std::uint8_t charset = 0;
  std::uint32_t mariadb_ext_caps = 0;  // filler bytes 19..22, when CLIENT_MYSQL is clear

  std::uint64_t all_capabilities() const;  // capabilities | ext caps << 32 (when CLIENT_MYSQL is clear)
};
inline constexpr std::size_t kSslRequestSize = 32;

// A client's first packet is an SSLRequest iff it is exactly 32 bytes and has
// CLIENT_SSL (a HandshakeResponse41 is longer: it always has the user's NUL).
bool is_ssl_request(ByteView payload);
Status parse_ssl_request(ByteView payload, SslRequest& out, std::string* error = nullptr);
Bytes encode_ssl_request(const SslRequest& req);

// ------------------------------------------------------------ HandshakeResponse41
struct HandshakeResponse {
  std::uint64_t capabilities = 0;  // incl. MariaDB extended bits when CLIENT_MYSQL is clear
  std::uint32_t max_packet = 0;
  std::uint8_t charset = 0;
  std::string user;
  Bytes auth_response;
  std::string database;     // only with CLIENT_CONNECT_WITH_DB
  std::string auth_plugin;  // only with CLIENT_PLUGIN_AUTH
  std::vector<std::pair<std::string, std::string>> attrs;  // in the client's order
  bool has_attrs = false;   // the attrs block was present (CLIENT_CONNECT_ATTRS)
  std::uint8_t zstd_level = 0;  // only with CLIENT_ZSTD_COMPRESSION_ALGORITHM
};

// Requires CLIENT_PROTOCOL_41 (the 3.20 HandshakeResponse320 is malformed
// here). Auth response: lenenc with CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA, a
// 1-byte length with CLIENT_SECURE_CONNECTION, else NUL-terminated. Database,
// plugin and attrs appear only with their flag; like the servers, a packet
// that ends before an optional field (database, plugin, attrs) is accepted and
// the field left empty. Bytes after the last field are ignored (servers do).
Status parse_handshake_response(ByteView payload, HandshakeResponse& out, std::string* error = nullptr);
// Encodes from r.capabilities: the auth response in the form the flags say,
// database/plugin/attrs written iff their flag is set (attrs as an empty block
// when has_attrs is false). nullopt when r cannot be encoded: a NUL in user,
// database or plugin; an auth response over 255 bytes without
// CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA; a NUL in a NUL-terminated response;
// no CLIENT_PROTOCOL_41.
std::optional<Bytes> encode_handshake_response(const HandshakeResponse& r);

// ------------------------------------------------------------ authentication exchange
// What the server sends after a HandshakeResponse41 (or after any auth data):
// the first byte says which packet it is. In this phase 0xfe is always an auth
// switch, never EOF.
enum class AuthReply { ok, err, auth_switch, more_data, unknown };
AuthReply classify_auth_reply(ByteView payload);

struct AuthSwitchRequest {
  std::string plugin;
  Bytes data;  // plugin data, without the NUL that scramble plugins add (see below)
};
// 0xfe, string<NUL> plugin, string<EOF> data. For the scramble-based plugins
// (mysql_native_password, caching_sha2_password, sha256_password) servers send
// the 20-byte scramble followed by a NUL, and clients check for 21 bytes; this
// codec strips that NUL when parsing and appends it when encoding, so data is
// the bare scramble. Other plugins' data is kept as is (client_ed25519: 32
// bytes, no NUL). A lone 0xfe is the pre-4.1 "use the old password" request:
// plugin "mysql_old_password", empty data.
Status parse_auth_switch(ByteView payload, AuthSwitchRequest& out, std::string* error = nullptr);
Bytes encode_auth_switch(const AuthSwitchRequest& req);
bool plugin_data_has_nul(std::string_view plugin);  // the scramble plugins above

// AuthMoreData: 0x01 then plugin data. caching_sha2_password uses one byte of
// data for its state, and the client answers with raw bytes (no header byte).
inline constexpr std::uint8_t kSha2FastAuthOk = 0x03;     // server: scramble matched the cache; OK follows
inline constexpr std::uint8_t kSha2PerformFullAuth = 0x04;  // server: send the password (TLS) or ask for the key
inline constexpr std::uint8_t kSha2RequestPublicKey = 0x02;  // client: send me your RSA public key
inline constexpr std::uint8_t kSha256RequestPublicKey = 0x01;  // sha256_password's request
Status parse_auth_more_data(ByteView payload, Bytes& data, std::string* error = nullptr);
Bytes encode_auth_more_data(ByteView data);

inline constexpr std::string_view kNativePassword = "mysql_native_password";
inline constexpr std::string_view kCachingSha2Password = "caching_sha2_password";
inline constexpr std::string_view kSha256Password = "sha256_password";
inline constexpr std::string_view kClientEd25519 = "client_ed25519";

// ------------------------------------------------------------ helpers
struct UserHost {
  std::string_view user;
  std::string_view host;
};
// Splits at the LAST '@': "alice@db.example.com" -> {alice, db.example.com},
// "a@b@c" -> {a@b, c}, "@h" -> {"", h} (the anonymous account). With no '@',
// or an empty part after the last one ("alice@"), there is no host and user is
// the whole input unchanged: a trailing '@' is a valid account name, not a
// request for the empty host.
UserHost user_at_host(std::string_view user);

// A 20-byte scramble as servers make them: printable ASCII ('!'..'~'), never
// NUL (clients treat the scramble as a C string) and never '$' (MySQL reserves
// it in stored password hashes). The default uses a per-thread mt19937
// seeded from std::random_device.
template <class Gen>
std::array<std::uint8_t, 20> make_scramble(Gen& gen) {
  std::uniform_int_distribution<int> dist('!', '~' - 1);  // one short: '$' maps to '~'
  std::array<std::uint8_t, 20> s{};
  for (auto& b : s) {
    const int c = dist(gen);
    b = static_cast<std::uint8_t>(c == '$' ? '~' : c);
  }
  return s;
}
std::array<std::uint8_t, 20> make_scramble();

namespace detail {
// Shared by the mysql_*.cpp files; not API.
inline std::string_view as_text(ByteView s) { return {reinterpret_cast<const char*>(s.data()), s.size()}; }
inline ByteView as_bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }
// Formats "<what> <field>: <problem> at offset N" into *error; returns malformed.
struct Fail {
  std::string_view what;
  std::string* error;
  Status operator()(std::string_view field, std::string_view problem, std::size_t offset) const {
    if (error) {
      std::string e(what);
      e.append(" ").append(field).append(": ").append(problem).append(" at offset ").append(std::to_string(offset));
      *error = std::move(e);
    }
    return Status::malformed;
  }
};
}  // namespace detail

}  // namespace snigate::wire::mysql
