// PostgreSQL frontend/backend protocol codecs. Every multi-byte read goes
// through Cursor, which checks what is left first; a length word is compared
// with the bytes actually given before anything after it is trusted.
#include "wire/postgres.hpp"

#include <algorithm>

namespace snigate::wire::postgres {
namespace {

constexpr std::size_t kStartupHeader = 8;  // int32 length + int32 code
constexpr std::size_t kTypedHeader = 5;    // type byte + int32 length
constexpr std::size_t kCancelHeader = 12;  // length, code, pid
constexpr std::size_t kMinCancelKey = 4;   // protocol 3.0's key; 3.2 allows longer

// The one place an int32 is read: false, and nothing read, unless all four
// bytes at `at` are inside `in`.
bool be32(ByteView in, std::size_t at, std::uint32_t& v) {
  if (at > in.size() || in.size() - at < 4) return false;
  const std::uint8_t* p = in.data() + at;
  v = std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]};
  return true;
}

void put32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_cstr(Bytes& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
  out.push_back(0);
}

std::string_view as_text(ByteView s) { return {reinterpret_cast<const char*>(s.data()), s.size()}; }

struct Cursor {
  ByteView in;
  std::size_t pos = 0;
  std::size_t left() const { return in.size() - pos; }
  bool at_end() const { return pos == in.size(); }

  bool u32(std::uint32_t& v) {
    if (!be32(in, pos, v)) return false;
    pos += 4;
    return true;
  }
  // A string up to (not including) the next NUL, which is consumed. false
  // when no NUL is left: the field runs off the end of the message.
  bool cstr(std::string_view& v) {
    const auto r = in.subspan(pos);
    const auto it = std::find(r.begin(), r.end(), std::uint8_t{0});
    if (it == r.end()) return false;
    const auto n = static_cast<std::size_t>(it - r.begin());
    v = as_text(r.first(n));
    pos += n + 1;
    return true;
  }
  ByteView rest() {
    const ByteView r = in.subspan(pos);
    pos = in.size();
    return r;
  }
};

Status fail(std::string* why, std::string text, Status s = Status::malformed) {
  if (why) *why = std::move(text);
  return s;
}

// Both untyped packets start with a length word that counts itself and must
// match the bytes given exactly; fewer means the caller has not read it all.
// A length out of [min, max] is judged from the word alone, before waiting
// for bytes that may never be worth buffering.
Status check_packet_length(ByteView packet, std::size_t min, std::size_t max, Status if_longer,
                           std::string_view what, std::string* why) {
  std::uint32_t len = 0;
  if (!be32(packet, 0, len)) return Status::need_more;
  auto head = [&] { return std::string(what) + " length " + std::to_string(len); };
  if (len > max) return fail(why, head() + " exceeds " + std::to_string(max), if_longer);
  if (len < min) return fail(why, head() + " is below " + std::to_string(min));
  if (packet.size() < len) return Status::need_more;
  if (packet.size() > len) return fail(why, head() + " but " + std::to_string(packet.size()) + " bytes given");
  return Status::complete;
}

}  // namespace

// ------------------------------------------------------------ startup packets

First classify_first(ByteView first8) {
  std::uint32_t len = 0, code = 0;
  // Fewer than 8 bytes breaks the contract; answer without reading past them.
  if (!be32(first8, 0, len) || !be32(first8, 4, code)) return First::not_postgres;
  if (len == kStartupHeader && code == kSslRequestCode) return First::ssl_request;
  if (len == kStartupHeader && code == kGssEncRequestCode) return First::gssenc_request;
  if (code == kCancelRequestCode && len >= kCancelHeader + kMinCancelKey && len <= kCancelHeader + kMaxCancelKey)
    return First::cancel_request;
  // The smallest StartupMessage is the header plus the list's terminating NUL.
  if (code >> 16 == 3 && len >= kStartupHeader + 1 && len <= kMaxStartupPacket) return First::startup_message;
  return First::not_postgres;
}

std::uint32_t startup_length(ByteView first4) {
  std::uint32_t len = 0;
  return be32(first4, 0, len) ? len : 0;  // 0 with fewer than 4 bytes: no packet is that short
}

const std::string* StartupMessage::get(std::string_view key) const {
  for (const auto& [k, v] : params)
    if (k == key) return &v;
  return nullptr;
}

void StartupMessage::set(std::string_view key, std::string value) {
  for (auto& [k, v] : params) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  params.emplace_back(std::string(key), std::move(value));
}

// Like every parser here, it fills `out` only on success: a caller that
// ignores the status still never acts on half a message.
Status parse_startup(ByteView packet, StartupMessage& out, std::string* why) {
  out = StartupMessage{};
  // Longer than the server accepts: refused as too_large, never buffered.
  const Status framing =
      check_packet_length(packet, kStartupHeader + 1, kMaxStartupPacket, Status::too_large, "StartupMessage", why);
  if (framing != Status::complete) return framing;
  StartupMessage m;
  Cursor c{packet, 4};
  c.u32(m.protocol);
  if (m.protocol >> 16 != 3)
    return fail(why, "StartupMessage protocol " + std::to_string(m.protocol >> 16) + "." +
                         std::to_string(m.protocol & 0xffff) + " is not 3.x");
  for (;;) {
    const std::size_t at = c.pos;
    std::string_view key, value;
    if (!c.cstr(key)) return fail(why, "StartupMessage parameter list has no terminator at offset " + std::to_string(at));
    if (key.empty()) break;
    if (!c.cstr(value)) return fail(why, "StartupMessage parameter \"" + std::string(key) + "\" has no value");
    m.params.emplace_back(std::string(key), std::string(value));
  }
  // The server refuses anything after the terminator ("expected terminator as
  // last byte"); accepting it here would let the two disagree on the packet.
  if (!c.at_end())
    return fail(why, "StartupMessage has " + std::to_string(c.left()) + " bytes after the parameter list");
  out = std::move(m);
  return Status::complete;
}

Bytes encode_startup(const StartupMessage& msg) {
  // Keys and values cannot hold a NUL and keys cannot be empty (either would
  // end the list early); parse_startup never produces such a message.
  std::size_t len = kStartupHeader + 1;
  for (const auto& [k, v] : msg.params) len += k.size() + v.size() + 2;
  Bytes out;
  out.reserve(len);
  put32(out, static_cast<std::uint32_t>(len));
  put32(out, msg.protocol);
  for (const auto& [k, v] : msg.params) {
    put_cstr(out, k);
    put_cstr(out, v);
  }
  out.push_back(0);
  return out;
}

Status parse_cancel(ByteView packet, CancelRequest& out) {
  out = CancelRequest{};
  // Too long is malformed, not too_large: no key is that long, so it is no cancel at all.
  const Status framing = check_packet_length(packet, kCancelHeader + kMinCancelKey, kCancelHeader + kMaxCancelKey,
                                             Status::malformed, "CancelRequest", nullptr);
  if (framing != Status::complete) return framing;
  Cursor c{packet, 4};
  std::uint32_t code = 0;
  c.u32(code);
  if (code != kCancelRequestCode) return Status::malformed;
  c.u32(out.pid);
  const ByteView key = c.rest();
  out.key.assign(key.begin(), key.end());
  return Status::complete;
}

Bytes encode_cancel(const CancelRequest& req) {
  Bytes out;
  put32(out, static_cast<std::uint32_t>(kCancelHeader + req.key.size()));
  put32(out, kCancelRequestCode);
  put32(out, req.pid);
  out.insert(out.end(), req.key.begin(), req.key.end());
  return out;
}

Bytes encode_ssl_request() {
  Bytes out;
  put32(out, kStartupHeader);
  put32(out, kSslRequestCode);
  return out;
}

// ------------------------------------------------------------ typed messages

Status split_message(ByteView buf, Message& out, std::size_t max_body) {
  out = Message{};
  std::uint32_t len = 0;
  if (buf.size() < kTypedHeader || !be32(buf, 1, len)) return Status::need_more;
  if (len < 4) return Status::malformed;
  // Decided from the header alone, so an oversized message is refused before
  // any of its body is buffered.
  const std::size_t body = len - 4;
  if (body > max_body) return Status::too_large;
  if (buf.size() - kTypedHeader < body) return Status::need_more;
  out.type = static_cast<char>(buf[0]);
  out.body = buf.subspan(kTypedHeader, body);
  out.wire_size = kTypedHeader + body;
  return Status::complete;
}

Bytes encode_message(char type, ByteView body) {
  Bytes out;
  out.reserve(kTypedHeader + body.size());
  out.push_back(static_cast<std::uint8_t>(type));
  put32(out, static_cast<std::uint32_t>(4 + body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Status parse_authentication(ByteView body, Authentication& out) {
  out = Authentication{};
  Authentication a;
  Cursor c{body};
  if (!c.u32(a.code)) return Status::malformed;
  // Other codes carry data for the client (an MD5 salt, SASL or GSS tokens)
  // that snigate passes on or does not need; only the mechanism list is read.
  if (a.code == kAuthSasl) {
    for (;;) {
      std::string_view name;
      if (!c.cstr(name)) return Status::malformed;  // the empty-string terminator is required
      if (name.empty()) break;
      a.mechanisms.emplace_back(name);
    }
    if (!c.at_end()) return Status::malformed;
  }
  out = std::move(a);
  return Status::complete;
}

Bytes encode_authentication_sasl(const std::vector<std::string>& mechanisms) {
  Bytes body;
  put32(body, kAuthSasl);
  for (const auto& m : mechanisms) put_cstr(body, m);
  body.push_back(0);
  return encode_message('R', body);
}

bool expects_client_reply(std::uint32_t code) { return code != kAuthOk && code != kAuthSaslFinal; }

Status parse_backend_key_data(ByteView body, CancelRequest& out) {
  out = CancelRequest{};
  // The key is the rest of the message: 4 bytes in 3.0, up to 256 in 3.2.
  if (body.size() < 4 + kMinCancelKey || body.size() > 4 + kMaxCancelKey) return Status::malformed;
  Cursor c{body};
  c.u32(out.pid);
  const ByteView key = c.rest();
  out.key.assign(key.begin(), key.end());
  return Status::complete;
}

std::string_view ErrorFields::get(char type) const {
  for (const auto& [t, v] : fields)
    if (t == type) return v;
  return {};
}

Status parse_error_fields(ByteView body, ErrorFields& out) {
  out = ErrorFields{};
  ErrorFields e;
  Cursor c{body};
  for (;;) {
    if (c.at_end()) return Status::malformed;  // the closing 0 is required
    const auto type = static_cast<char>(c.in[c.pos++]);
    if (type == 0) break;
    std::string_view value;
    if (!c.cstr(value)) return Status::malformed;
    e.fields.emplace_back(type, std::string(value));
  }
  if (!c.at_end()) return Status::malformed;
  out = std::move(e);
  return Status::complete;
}

Bytes encode_error(std::string_view severity, std::string_view sqlstate, std::string_view message,
                   std::string_view hint) {
  // The text may quote what a client sent; a NUL in it would end the field
  // early and turn the rest into bogus fields, so each value stops there.
  auto field = [](Bytes& b, char type, std::string_view v) {
    b.push_back(static_cast<std::uint8_t>(type));
    put_cstr(b, v.substr(0, v.find('\0')));
  };
  Bytes body;
  field(body, 'S', severity);
  field(body, 'V', severity);  // S may be translated, V (9.6+) never is: programs match on V
  field(body, 'C', sqlstate);
  field(body, 'M', message);
  if (!hint.empty()) field(body, 'H', hint);
  body.push_back(0);
  return encode_message('E', body);
}

Status parse_sasl_initial_response(ByteView body, SaslInitialResponse& out) {
  out = SaslInitialResponse{};
  Cursor c{body};
  std::string_view mechanism;
  std::uint32_t len = 0;
  if (!c.cstr(mechanism) || mechanism.empty() || !c.u32(len)) return Status::malformed;
  // -1 says "no initial response"; any other value must be exactly what is left.
  if (len == 0xffffffff) {
    if (!c.at_end()) return Status::malformed;
  } else if (len != c.left()) {
    return Status::malformed;
  }
  out.mechanism = std::string(mechanism);
  if (!c.at_end()) out.gs2_flag = static_cast<char>(c.in[c.pos]);
  return Status::complete;
}

// ------------------------------------------------------------ user@host

UserHost user_at_host(std::string_view user) {
  // The last '@': a user name may itself contain one, a host name cannot.
  const auto at = user.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == user.size()) return {user, {}};
  return {user.substr(0, at), user.substr(at + 1)};
}

void strip_host_from_login(StartupMessage& sm, std::string_view user) {
  const std::string* sent_user = sm.get("user");
  const std::string* db = sm.get("database");
  const bool db_is_default = !db || (sent_user && *db == *sent_user);
  sm.set("user", std::string(user));
  if (db_is_default) sm.set("database", std::string(user));
}

}  // namespace snigate::wire::postgres
