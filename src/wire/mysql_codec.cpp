// MySQL basics: the cursor, length-encoded values, framing, OK and ERR, and the
// small helpers (user@host, scramble). Every read goes through Reader, which
// checks the length before it reads.
#include <algorithm>

#include "wire/mysql.hpp"

namespace snigate::wire::mysql {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::complete: return "complete";
    case Status::need_more: return "need_more";
    case Status::too_large: return "too_large";
    case Status::malformed: return "malformed";
    case Status::is_error: return "is_error";
  }
  return "?";
}

// ------------------------------------------------------------ Reader

bool Reader::u8(std::uint8_t& v) {
  if (left() < 1) return false;
  v = in[pos++];
  return true;
}

bool Reader::uint(std::size_t n, std::uint64_t& v) {
  if (n > 8 || left() < n) return false;
  v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{in[pos + i]} << (8 * i);
  pos += n;
  return true;
}

bool Reader::lenenc(std::uint64_t& v) {
  if (left() < 1) return false;
  const std::uint8_t first = in[pos];
  std::size_t n = 0;
  if (first < 0xfb) {
    v = first;
    ++pos;
    return true;
  }
  if (first == 0xfc) n = 2;
  else if (first == 0xfd) n = 3;
  else if (first == 0xfe) n = 8;
  else return false;  // 0xfb NULL, 0xff
  if (left() < 1 + n) return false;
  ++pos;
  return uint(n, v);
}

bool Reader::bytes(std::size_t n, ByteView& v) {
  if (left() < n) return false;
  v = in.subspan(pos, n);
  pos += n;
  return true;
}

bool Reader::lenenc_bytes(ByteView& v) {
  const std::size_t start = pos;
  std::uint64_t n = 0;
  if (!lenenc(n)) return false;
  if (n > left()) {  // compared as 64-bit: a huge length cannot wrap
    pos = start;
    return false;
  }
  return bytes(static_cast<std::size_t>(n), v);
}

bool Reader::nul_string(std::string_view& v) {
  const auto r = in.subspan(pos);
  const auto it = std::find(r.begin(), r.end(), std::uint8_t{0});
  if (it == r.end()) return false;
  const auto n = static_cast<std::size_t>(it - r.begin());
  v = detail::as_text(r.first(n));
  pos += n + 1;
  return true;
}

ByteView Reader::rest() {
  const ByteView r = in.subspan(pos);
  pos = in.size();
  return r;
}

// ------------------------------------------------------------ Writer

void Writer::uint(std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::size_t lenenc_size(std::uint64_t v) {
  if (v < 0xfb) return 1;
  if (v <= 0xffff) return 3;
  if (v <= 0xffffff) return 4;
  return 9;
}

void Writer::lenenc(std::uint64_t v) {
  switch (lenenc_size(v)) {
    case 1: u8(static_cast<std::uint8_t>(v)); break;
    case 3: u8(0xfc); uint(v, 2); break;
    case 4: u8(0xfd); uint(v, 3); break;
    default: u8(0xfe); uint(v, 8); break;
  }
}

void Writer::lenenc_bytes(ByteView v) {
  lenenc(v.size());
  bytes(v);
}

void Writer::lenenc_bytes(std::string_view v) {
  lenenc(v.size());
  bytes(v);
}

void Writer::nul_string(std::string_view v) {
  bytes(v);
  u8(0);
}

// ------------------------------------------------------------ framing

Status split_packet(ByteView data, Packet& out, std::uint32_t max_payload) {
  if (data.size() < kHeaderSize) return Status::need_more;
  const std::uint32_t len = std::uint32_t{data[0]} | std::uint32_t{data[1]} << 8 | std::uint32_t{data[2]} << 16;
  if (len > max_payload) return Status::too_large;
  if (data.size() - kHeaderSize < len) return Status::need_more;
  out.header = PacketHeader{len, data[3]};
  out.payload = data.subspan(kHeaderSize, len);
  out.wire_size = kHeaderSize + len;
  out.continues = len == kMaxPayload;
  return Status::complete;
}

Bytes frame(std::uint8_t seq, ByteView payload) {
  Bytes out;
  out.reserve(payload.size() + kHeaderSize);
  Writer w{out};
  // A chunk of exactly kMaxPayload says "more follows", so the loop also runs
  // once after the last full chunk to write the (possibly empty) terminator.
  std::size_t off = 0;
  for (;;) {
    const std::size_t n = std::min<std::size_t>(payload.size() - off, kMaxPayload);
    w.uint(n, 3);
    w.u8(seq++);
    w.bytes(payload.subspan(off, n));
    off += n;
    if (n < kMaxPayload) break;
  }
  return out;
}

// ------------------------------------------------------------ ERR

Status parse_err(ByteView payload, ErrPacket& out, std::string* error) {
  detail::Fail fail{"ERR packet", error};
  Reader r{payload};
  std::uint8_t head = 0;
  std::uint64_t code = 0;
  if (!r.u8(head) || head != 0xff) return fail("header", "is not 0xff", 0);
  if (!r.uint(2, code)) return fail("error code", "truncated", r.pos);
  if (code == 0xffff) return fail("error code", "0xffff is a MariaDB progress report, not an error", 1);
  out.code = static_cast<std::uint16_t>(code);
  out.sql_state.clear();
  if (r.left() >= 6 && r.in[r.pos] == '#') {
    ByteView state;
    r.pos += 1;
    r.bytes(5, state);
    out.sql_state = std::string(detail::as_text(state));
  }
  out.message = std::string(detail::as_text(r.rest()));
  return Status::complete;
}

Bytes encode_err_payload(const ErrPacket& err, bool with_sql_state) {
  Bytes out;
  Writer w{out};
  w.u8(0xff);
  w.uint(err.code, 2);
  if (with_sql_state) {
    // Always exactly five characters: clients copy five bytes after the '#'.
    std::string state = err.sql_state.substr(0, 5);
    state.resize(5, '0');
    w.u8('#');
    w.bytes(state);
  }
  w.bytes(err.message);
  return out;
}

Bytes encode_err(std::uint16_t code, std::string_view sql_state, std::string_view message, std::uint8_t seq) {
  // Messages are short texts; keep the packet in one frame whatever the caller passes.
  const std::string_view msg = message.substr(0, std::min<std::size_t>(message.size(), 0xffff));
  return frame(seq, encode_err_payload(ErrPacket{code, std::string(sql_state), std::string(msg)}));
}

// ------------------------------------------------------------ OK

Status parse_ok(ByteView payload, std::uint64_t caps, OkPacket& out, std::string* error) {
  detail::Fail fail{"OK packet", error};
  Reader r{payload};
  std::uint8_t head = 0;
  if (!r.u8(head) || (head != 0x00 && head != 0xfe)) return fail("header", "is not 0x00 or 0xfe", 0);
  if (!r.lenenc(out.affected_rows)) return fail("affected rows", "truncated or invalid", r.pos);
  if (!r.lenenc(out.last_insert_id)) return fail("last insert id", "truncated or invalid", r.pos);
  out.status = 0;
  out.warnings = 0;
  out.info.clear();
  out.session_state.clear();
  if (caps & CLIENT_PROTOCOL_41) {
    std::uint64_t status = 0, warnings = 0;
    if (!r.uint(2, status)) return fail("status", "truncated", r.pos);
    if (!r.uint(2, warnings)) return fail("warnings", "truncated", r.pos);
    out.status = static_cast<std::uint16_t>(status);
    out.warnings = static_cast<std::uint16_t>(warnings);
  } else if (caps & CLIENT_TRANSACTIONS) {
    std::uint64_t status = 0;
    if (!r.uint(2, status)) return fail("status", "truncated", r.pos);
    out.status = static_cast<std::uint16_t>(status);
  }
  if (caps & CLIENT_SESSION_TRACK) {
    // Servers omit the info when nothing follows; clients read it only if bytes are left.
    if (!r.at_end()) {
      ByteView info;
      if (!r.lenenc_bytes(info)) return fail("info", "truncated", r.pos);
      out.info = std::string(detail::as_text(info));
    }
    if ((out.status & SERVER_SESSION_STATE_CHANGED) && !r.at_end()) {
      ByteView state;
      if (!r.lenenc_bytes(state)) return fail("session state", "truncated", r.pos);
      out.session_state.assign(state.begin(), state.end());
    }
  } else {
    out.info = std::string(detail::as_text(r.rest()));
  }
  return Status::complete;
}

Bytes encode_ok(const OkPacket& ok, std::uint64_t caps) {
  Bytes out;
  Writer w{out};
  w.u8(0x00);
  w.lenenc(ok.affected_rows);
  w.lenenc(ok.last_insert_id);
  if (caps & CLIENT_PROTOCOL_41) {
    w.uint(ok.status, 2);
    w.uint(ok.warnings, 2);
  } else if (caps & CLIENT_TRANSACTIONS) {
    w.uint(ok.status, 2);
  }
  if (caps & CLIENT_SESSION_TRACK) {
    const bool state = (ok.status & SERVER_SESSION_STATE_CHANGED) != 0;
    if (!ok.info.empty() || state) w.lenenc_bytes(ok.info);
    if (state) w.lenenc_bytes(ByteView(ok.session_state));
  } else {
    w.bytes(ok.info);
  }
  return out;
}

// ------------------------------------------------------------ helpers

UserHost user_at_host(std::string_view user) {
  const auto at = user.rfind('@');
  if (at == std::string_view::npos || at + 1 == user.size()) return {user, {}};
  return {user.substr(0, at), user.substr(at + 1)};
}

std::array<std::uint8_t, 20> make_scramble() {
  // Seeded with 256 bits, not one 32-bit word, so the stream is not one of 2^32.
  thread_local std::mt19937 gen = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937(seq);
  }();
  return make_scramble(gen);
}

}  // namespace snigate::wire::mysql
