// The connection phase's big three: the server's Initial Handshake v10, the
// client's SSLRequest and its HandshakeResponse41.
#include <algorithm>
#include <cstring>

#include "wire/mysql.hpp"

namespace snigate::wire::mysql {
namespace {

using detail::as_bytes;
using detail::as_text;

// The 23-byte filler of SSLRequest and HandshakeResponse41: 19 zero bytes,
// then MariaDB's extended capabilities (when CLIENT_MYSQL is clear).
constexpr std::size_t kFiller = 23;
constexpr std::size_t kExtCapsInFiller = 19;
// The greeting's 10 reserved bytes: 6 zeros, then MariaDB's extended capabilities.
constexpr std::size_t kReserved = 10;
constexpr std::size_t kExtCapsInReserved = 6;

std::uint64_t ext_caps(std::uint64_t caps, ByteView four) {
  if (caps & CLIENT_MYSQL) return 0;  // a MySQL peer: the bytes are filler
  return std::uint64_t{four[0]} << 32 | std::uint64_t{four[1]} << 40 | std::uint64_t{four[2]} << 48 |
         std::uint64_t{four[3]} << 56;
}

std::uint32_t ext_caps_word(std::uint64_t caps) {
  return (caps & CLIENT_MYSQL) ? 0 : static_cast<std::uint32_t>(caps >> 32);
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

}  // namespace

// ------------------------------------------------------------ Initial Handshake

namespace {

// The greeting was an ERR packet: the server refuses this client (too many
// connections, a host it blocks). Named in error and kept in err.
Status server_refused(ByteView payload, std::string* error, ErrPacket* err) {
  ErrPacket e;
  const Status s = parse_err(payload, e, error);
  if (s != Status::complete) return s;
  if (error) {
    *error = "server refused the connection: ERROR " + std::to_string(e.code);
    if (!e.sql_state.empty()) *error += " (" + e.sql_state + ")";
    *error += ": " + e.message;
  }
  if (err) *err = std::move(e);
  return Status::is_error;
}

// The steps below return complete when their part was read and the parse
// goes on, else the status that ends it.

// Up to the lower capability flags: all a 4.0-era greeting has.
Status read_greeting_start(Reader& r, InitialHandshake& hs, const detail::Fail& fail) {
  r.u8(hs.protocol);
  if (hs.protocol != 10)
    return fail("protocol version", std::to_string(hs.protocol) + " is not supported (only 10)", 0);
  std::string_view version;
  if (!r.nul_string(version)) return fail("server version", "not NUL-terminated", r.pos);
  hs.server_version = std::string(version);
  std::uint64_t v = 0;
  ByteView part1;
  std::uint8_t filler = 0;
  if (!r.uint(4, v)) return fail("connection id", "truncated", r.pos);
  hs.connection_id = static_cast<std::uint32_t>(v);
  if (!r.bytes(8, part1)) return fail("auth-plugin-data part 1", "truncated", r.pos);
  std::copy(part1.begin(), part1.end(), hs.scramble.begin());
  hs.scramble_len = 8;
  if (!r.u8(filler)) return fail("filler", "truncated", r.pos);
  if (!r.uint(2, v)) return fail("capability flags", "truncated", r.pos);
  hs.capabilities = v;
  return Status::complete;
}

// Character set to the reserved bytes, which hold MariaDB's extended
// capabilities; data_len: the auth-plugin-data length the server gives.
Status read_greeting_flags(Reader& r, InitialHandshake& hs, std::uint8_t& data_len, const detail::Fail& fail) {
  std::uint64_t v = 0;
  ByteView reserved;
  if (!r.u8(hs.charset)) return fail("character set", "truncated", r.pos);
  if (!r.uint(2, v)) return fail("status flags", "truncated", r.pos);
  hs.status = static_cast<std::uint16_t>(v);
  if (!r.uint(2, v)) return fail("capability flags (upper)", "truncated", r.pos);
  hs.capabilities |= v << 16;
  if (!r.u8(data_len)) return fail("auth-plugin-data length", "truncated", r.pos);
  if (!r.bytes(kReserved, reserved)) return fail("reserved", "truncated", r.pos);
  hs.capabilities |= ext_caps(hs.capabilities, reserved.subspan(kExtCapsInReserved));
  return Status::complete;
}

// MySQL: part 2 is max(13, auth-plugin-data-len - 8) bytes, ending in a NUL
// that is not part of the scramble (so len 21 = 8 + 12 + NUL, as MariaDB and
// MySQL 8 send). Without a length (0) servers send 12 + NUL.
Status read_scramble_part2(Reader& r, InitialHandshake& hs, std::uint8_t data_len, const detail::Fail& fail) {
  const std::size_t n2 = data_len > 8 ? std::max<std::size_t>(13, data_len - 8) : 13;
  ByteView part2;
  if (!r.bytes(n2, part2)) return fail("auth-plugin-data part 2", "truncated", r.pos);
  if (part2.back() == 0) part2 = part2.first(part2.size() - 1);
  if (8 + part2.size() > hs.scramble.size())
    return fail("auth-plugin-data part 2",
                "auth-plugin-data of " + std::to_string(8 + part2.size()) + " bytes (at most 20 supported)",
                r.pos - n2);
  std::copy(part2.begin(), part2.end(), hs.scramble.begin() + 8);
  hs.scramble_len = 8 + part2.size();
  return Status::complete;
}

}  // namespace

Status parse_initial_handshake(ByteView payload, InitialHandshake& out, std::string* error, ErrPacket* err) {
  detail::Fail fail{"Initial Handshake", error};
  if (payload.empty()) return fail("protocol version", "empty packet", 0);
  if (payload[0] == 0xff) return server_refused(payload, error, err);

  Reader r{payload};
  InitialHandshake hs;
  if (const Status s = read_greeting_start(r, hs, fail); s != Status::complete) return s;
  if (r.at_end()) {  // a 4.0-era greeting ends here; nothing else is known
    out = std::move(hs);
    return Status::complete;
  }
  std::uint8_t data_len = 0;
  if (const Status s = read_greeting_flags(r, hs, data_len, fail); s != Status::complete) return s;
  if (hs.capabilities & CLIENT_SECURE_CONNECTION)
    if (const Status s = read_scramble_part2(r, hs, data_len, fail); s != Status::complete) return s;
  if ((hs.capabilities & CLIENT_PLUGIN_AUTH) && !r.at_end()) {
    std::string_view plugin;
    // MySQL 5.5.7-5.5.9 omitted the NUL (bug #59453): the name then runs to the end.
    if (!r.nul_string(plugin)) plugin = as_text(r.rest());
    hs.auth_plugin = std::string(plugin);
  }
  out = std::move(hs);
  return Status::complete;
}

Bytes encode_initial_handshake(const InitialHandshake& hs) {
  Bytes out;
  Writer w{out};
  const std::size_t len = std::clamp<std::size_t>(hs.scramble_len, 8, hs.scramble.size());
  w.u8(hs.protocol);
  w.nul_string(hs.server_version);
  w.uint(hs.connection_id, 4);
  w.bytes(ByteView(hs.scramble).first(8));
  w.u8(0);
  w.uint(hs.capabilities & 0xffff, 2);
  w.u8(hs.charset);
  w.uint(hs.status, 2);
  w.uint((hs.capabilities >> 16) & 0xffff, 2);
  w.u8((hs.capabilities & CLIENT_PLUGIN_AUTH) ? static_cast<std::uint8_t>(len + 1) : 0);
  w.zeros(kExtCapsInReserved);
  w.uint(ext_caps_word(hs.capabilities), 4);
  if (hs.capabilities & CLIENT_SECURE_CONNECTION) {
    const ByteView part2 = ByteView(hs.scramble).subspan(8, len - 8);
    w.bytes(part2);
    w.zeros(13 - std::min<std::size_t>(part2.size(), 12));  // at least 12 bytes, then the NUL
  }
  if (hs.capabilities & CLIENT_PLUGIN_AUTH) w.nul_string(hs.auth_plugin);
  return out;
}

// ------------------------------------------------------------ SSLRequest

std::uint64_t SslRequest::all_capabilities() const {
  const std::uint64_t caps = capabilities;
  return (caps & CLIENT_MYSQL) ? caps : caps | std::uint64_t{mariadb_ext_caps} << 32;
}

bool is_ssl_request(ByteView payload) {
  if (payload.size() != kSslRequestSize) return false;
  const std::uint32_t caps = std::uint32_t{payload[0]} | std::uint32_t{payload[1]} << 8;
  return (caps & CLIENT_SSL) != 0;
}

Status parse_ssl_request(ByteView payload, SslRequest& out, std::string* error) {
  detail::Fail fail{"SSLRequest", error};
  if (payload.size() != kSslRequestSize)
    return fail("length", std::to_string(payload.size()) + " bytes, not 32", 0);
  Reader r{payload};
  std::uint64_t caps = 0, max = 0;
  ByteView filler;
  SslRequest req;
  r.uint(4, caps);
  r.uint(4, max);
  r.u8(req.charset);
  r.bytes(kFiller, filler);
  if (!(caps & CLIENT_PROTOCOL_41)) return fail("capability flags", "no CLIENT_PROTOCOL_41 (pre-4.1 client)", 0);
  if (!(caps & CLIENT_SSL)) return fail("capability flags", "no CLIENT_SSL", 0);
  req.capabilities = static_cast<std::uint32_t>(caps);
  req.max_packet = static_cast<std::uint32_t>(max);
  req.mariadb_ext_caps = static_cast<std::uint32_t>(ext_caps(caps, filler.subspan(kExtCapsInFiller)) >> 32);
  out = req;
  return Status::complete;
}

Bytes encode_ssl_request(const SslRequest& req) {
  Bytes out;
  Writer w{out};
  w.uint(req.capabilities, 4);
  w.uint(req.max_packet, 4);
  w.u8(req.charset);
  w.zeros(kExtCapsInFiller);
  w.uint((req.capabilities & CLIENT_MYSQL) ? 0 : req.mariadb_ext_caps, 4);
  return out;
}

// ------------------------------------------------------------ HandshakeResponse41

namespace {

// Capabilities to filler, the fixed-size start of the packet; refuses the
// 3.20 layout and an SSLRequest sent where the response belongs. caps: the
// client's four capability bytes, which say what follows.
Status read_response_start(Reader& r, ByteView payload, HandshakeResponse& hr, std::uint64_t& caps,
                           const detail::Fail& fail) {
  std::uint64_t max = 0;
  ByteView filler;
  // PROTOCOL_41 is bit 9, inside the first two bytes, which are the
  // capabilities in both the 4.1 and the 3.20 layout.
  if (payload.size() >= 2 && !(payload[1] & (CLIENT_PROTOCOL_41 >> 8)))
    return fail("capability flags", "no CLIENT_PROTOCOL_41 (HandshakeResponse320 is not supported)", 0);
  if (!r.uint(4, caps)) return fail("capability flags", "truncated", r.pos);
  if (!r.uint(4, max)) return fail("max packet size", "truncated", r.pos);
  if (!r.u8(hr.charset)) return fail("character set", "truncated", r.pos);
  if (!r.bytes(kFiller, filler)) return fail("filler", "truncated", r.pos);
  hr.capabilities = caps | ext_caps(caps, filler.subspan(kExtCapsInFiller));
  hr.max_packet = static_cast<std::uint32_t>(max);
  if (r.at_end() && (caps & CLIENT_SSL))
    return fail("user", "missing: this is an SSLRequest (32 bytes with CLIENT_SSL)", r.pos);
  return Status::complete;
}

// The auth response comes in one of three encodings, by capability.
Status read_auth_response(Reader& r, std::uint64_t caps, HandshakeResponse& hr, const detail::Fail& fail) {
  ByteView auth;
  std::string_view text;
  const std::size_t auth_at = r.pos;
  if (caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
    if (!r.lenenc_bytes(auth)) return fail("auth response", "truncated or bad length", auth_at);
  } else if (caps & CLIENT_SECURE_CONNECTION) {
    std::uint8_t n = 0;
    if (!r.u8(n) || !r.bytes(n, auth)) return fail("auth response", "truncated", auth_at);
  } else {
    if (!r.nul_string(text)) return fail("auth response", "not NUL-terminated", auth_at);
    auth = as_bytes(text);
  }
  hr.auth_response.assign(auth.begin(), auth.end());
  return Status::complete;
}

// Key-value pairs, each a length-encoded string, inside one length-encoded block.
Status read_connect_attrs(Reader& r, HandshakeResponse& hr, const detail::Fail& fail) {
  ByteView block;
  const std::size_t at = r.pos;
  if (!r.lenenc_bytes(block)) return fail("connect attributes", "length exceeds the packet", at);
  Reader a{block};
  while (!a.at_end()) {
    ByteView key, value;
    if (!a.lenenc_bytes(key)) return fail("connect attribute key", "truncated", at + a.pos);
    if (!a.lenenc_bytes(value)) return fail("connect attribute value", "truncated", at + a.pos);
    hr.attrs.emplace_back(std::string(as_text(key)), std::string(as_text(value)));
  }
  hr.has_attrs = true;
  return Status::complete;
}

// Optional trailing fields: present when flagged and bytes are left.
Status read_optional_fields(Reader& r, std::uint64_t caps, HandshakeResponse& hr, const detail::Fail& fail) {
  std::string_view text;
  if ((caps & CLIENT_CONNECT_WITH_DB) && !r.at_end()) {
    if (!r.nul_string(text)) return fail("database", "not NUL-terminated", r.pos);
    hr.database = std::string(text);
  }
  if ((caps & CLIENT_PLUGIN_AUTH) && !r.at_end()) {
    if (!r.nul_string(text)) return fail("auth plugin", "not NUL-terminated", r.pos);
    hr.auth_plugin = std::string(text);
  }
  if ((caps & CLIENT_CONNECT_ATTRS) && !r.at_end())
    if (const Status s = read_connect_attrs(r, hr, fail); s != Status::complete) return s;
  if ((caps & CLIENT_ZSTD_COMPRESSION_ALGORITHM) && !r.at_end()) r.u8(hr.zstd_level);
  return Status::complete;
}

}  // namespace

Status parse_handshake_response(ByteView payload, HandshakeResponse& out, std::string* error) {
  detail::Fail fail{"HandshakeResponse41", error};
  Reader r{payload};
  HandshakeResponse hr;
  std::uint64_t caps = 0;
  if (const Status s = read_response_start(r, payload, hr, caps, fail); s != Status::complete) return s;
  std::string_view user;
  if (!r.nul_string(user)) return fail("user", "not NUL-terminated", r.pos);
  hr.user = std::string(user);
  if (const Status s = read_auth_response(r, caps, hr, fail); s != Status::complete) return s;
  if (const Status s = read_optional_fields(r, caps, hr, fail); s != Status::complete) return s;
  out = std::move(hr);
  return Status::complete;
}

std::optional<Bytes> encode_handshake_response(const HandshakeResponse& hr) {
  const std::uint64_t caps = hr.capabilities;
  if (!(caps & CLIENT_PROTOCOL_41)) return std::nullopt;
  if (has_nul(hr.user) || has_nul(hr.database) || has_nul(hr.auth_plugin)) return std::nullopt;
  const bool lenenc = caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
  const bool secure = caps & CLIENT_SECURE_CONNECTION;
  if (!lenenc && secure && hr.auth_response.size() > 255) return std::nullopt;
  if (!lenenc && !secure &&
      std::find(hr.auth_response.begin(), hr.auth_response.end(), 0) != hr.auth_response.end())
    return std::nullopt;

  Bytes out;
  Writer w{out};
  w.uint(caps & 0xffffffff, 4);
  w.uint(hr.max_packet, 4);
  w.u8(hr.charset);
  w.zeros(kExtCapsInFiller);
  w.uint(ext_caps_word(caps), 4);
  w.nul_string(hr.user);
  if (lenenc) {
    w.lenenc_bytes(ByteView(hr.auth_response));
  } else if (secure) {
    w.u8(static_cast<std::uint8_t>(hr.auth_response.size()));
    w.bytes(ByteView(hr.auth_response));
  } else {
    w.bytes(ByteView(hr.auth_response));
    w.u8(0);
  }
  if (caps & CLIENT_CONNECT_WITH_DB) w.nul_string(hr.database);
  if (caps & CLIENT_PLUGIN_AUTH) w.nul_string(hr.auth_plugin);
  if (caps & CLIENT_CONNECT_ATTRS) {
    Bytes block;
    Writer b{block};
    for (const auto& [key, value] : hr.attrs) {
      b.lenenc_bytes(std::string_view(key));
      b.lenenc_bytes(std::string_view(value));
    }
    w.lenenc_bytes(ByteView(block));
  }
  if (caps & CLIENT_ZSTD_COMPRESSION_ALGORITHM) w.u8(hr.zstd_level);
  return out;
}

}  // namespace snigate::wire::mysql
