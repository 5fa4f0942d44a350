#pragma once
// PostgreSQL frontend/backend protocol (v3.0, and 3.2's longer cancel keys):
// the startup packets a client sends first (SSLRequest, GSSENCRequest,
// CancelRequest, StartupMessage), the framing of typed messages, and the few
// messages snigate reads or writes while it sets a connection up
// (Authentication*, BackendKeyData, ErrorResponse, SASLInitialResponse).
// Pure codecs: no I/O, standard library only; parsers never read outside the
// bytes they are given.
//
// Reference: PostgreSQL documentation, "Frontend/Backend Protocol", chapters
// "Message Flow" and "Message Formats".
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace snigate::wire::postgres {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Request codes of the untyped startup packets (int32 length, int32 code).
inline constexpr std::uint32_t kSslRequestCode = 80877103;     // 1234.5679
inline constexpr std::uint32_t kGssEncRequestCode = 80877104;  // 1234.5680
inline constexpr std::uint32_t kCancelRequestCode = 80877102;  // 1234.5678
inline constexpr std::uint32_t kProtocol30 = 3u << 16;         // StartupMessage v3.0

// Limits. A StartupMessage is small (libpq's own limit is 10000 bytes; the
// server's MAX_STARTUP_PACKET_LENGTH is 10000); messages snigate reads before
// ReadyForQuery (authentication, parameter status, errors) are too. Anything
// larger is refused rather than buffered.
inline constexpr std::size_t kMaxStartupPacket = 10000;
inline constexpr std::size_t kMaxSetupMessage = 64 * 1024;
inline constexpr std::size_t kMaxCancelKey = 256;  // protocol 3.2: up to 256 bytes

enum class Status { need_more, complete, malformed, too_large };

// ------------------------------------------------------------ startup packets

// What the first 8 bytes from a client are. The answer needs exactly 8 bytes:
// every startup packet starts with its int32 length and an int32 code.
enum class First {
  ssl_request,      // length 8, kSslRequestCode
  gssenc_request,   // length 8, kGssEncRequestCode
  cancel_request,   // length 16..(12 + kMaxCancelKey), kCancelRequestCode
  startup_message,  // length 9..kMaxStartupPacket, protocol major 3
  not_postgres,     // anything else
};
First classify_first(ByteView first8);  // first8.size() must be >= 8; reads 8
// The whole packet's length from its first 4 bytes (for cancel and startup).
std::uint32_t startup_length(ByteView first4);

struct StartupMessage {
  std::uint32_t protocol = kProtocol30;
  std::vector<std::pair<std::string, std::string>> params;  // in the order sent
  const std::string* get(std::string_view key) const;       // nullptr if absent
  void set(std::string_view key, std::string value);        // replaces or appends
};
// packet: the whole StartupMessage, length word included.
Status parse_startup(ByteView packet, StartupMessage& out, std::string* why = nullptr);
Bytes encode_startup(const StartupMessage& msg);  // length word included

struct CancelRequest {
  std::uint32_t pid = 0;
  Bytes key;  // 4 bytes for protocol 3.0; up to 256 for 3.2
};
// packet: the whole CancelRequest, length word included.
Status parse_cancel(ByteView packet, CancelRequest& out);
Bytes encode_cancel(const CancelRequest& req);

Bytes encode_ssl_request();

// ------------------------------------------------------------ typed messages

// One typed message (a type byte, an int32 length that counts itself, a body).
struct Message {
  char type = 0;
  ByteView body;          // into the buffer given to split_message
  std::size_t wire_size = 0;  // 5 + body.size()
};
// The first message at the front of buf. too_large when its body (the length
// word minus its own 4 bytes) exceeds max_body, decided from the header alone;
// malformed when the length word is below 4.
Status split_message(ByteView buf, Message& out, std::size_t max_body = kMaxSetupMessage);
Bytes encode_message(char type, ByteView body);

// 'R' messages. code: 0 Ok, 2 KerberosV5, 3 CleartextPassword, 5 MD5Password,
// 7 GSS, 8 GSSContinue, 9 SSPI, 10 SASL, 11 SASLContinue, 12 SASLFinal.
struct Authentication {
  std::uint32_t code = 0;
  std::vector<std::string> mechanisms;  // code 10 only
};
inline constexpr std::uint32_t kAuthOk = 0;
inline constexpr std::uint32_t kAuthSasl = 10;
inline constexpr std::uint32_t kAuthSaslContinue = 11;
inline constexpr std::uint32_t kAuthSaslFinal = 12;
Status parse_authentication(ByteView body, Authentication& out);
// A whole AuthenticationSASL message (type byte included) offering mechanisms
// in the order given.
Bytes encode_authentication_sasl(const std::vector<std::string>& mechanisms);
// True when a server's Authentication request expects a message from the
// client in reply (everything but Ok and SASLFinal).
bool expects_client_reply(std::uint32_t code);

// 'K' BackendKeyData.
Status parse_backend_key_data(ByteView body, CancelRequest& out);

// 'E' ErrorResponse and 'N' NoticeResponse: (field type, value) pairs.
struct ErrorFields {
  std::vector<std::pair<char, std::string>> fields;
  std::string_view get(char type) const;  // "" if absent
};
Status parse_error_fields(ByteView body, ErrorFields& out);

// A whole ErrorResponse message (type byte included). Severity goes in both
// S and V; hint is left out when empty.
Bytes encode_error(std::string_view severity, std::string_view sqlstate, std::string_view message,
                   std::string_view hint = {});

// 'p' SASLInitialResponse: the mechanism chosen and the GS2 channel-binding
// flag of the client-first-message: 'n' (client does not bind), 'y' (client
// could bind but thinks the server cannot), 'p' (client binds).
struct SaslInitialResponse {
  std::string mechanism;
  char gs2_flag = 0;
};
Status parse_sasl_initial_response(ByteView body, SaslInitialResponse& out);

// ------------------------------------------------------------ user@host

// "alice@db.example.com" -> {"alice", "db.example.com"}; the host is what
// follows the last '@'. No '@', or nothing on either side: host empty, user
// unchanged.
struct UserHost {
  std::string_view user;
  std::string_view host;
};
UserHost user_at_host(std::string_view user);

// The StartupMessage the server gets for a login routed by user@host: user is
// the bare name; so is the database when the client sent none, or sent the
// whole user@host (libpq's default dbname is the user name as given).
void strip_host_from_login(StartupMessage& sm, std::string_view user);

}  // namespace snigate::wire::postgres
