// TLS ClientHello parser (RFC 8446 4.1.2, RFC 5246 7.4.1.2, RFC 6066 3,
// RFC 7301 3.1). Every read goes through Cursor, which checks the length
// first; a length field is only trusted after it is compared with what its
// enclosing vector has left.
#include "wire/client_hello.hpp"

#include <algorithm>
#include <bitset>
#include <memory>
#include <optional>

namespace snigate::wire {
namespace {

// RFC 8446 5.1 and RFC 5246 6.2.1: a plaintext record carries at most 2^14
// bytes. The +256/+2048 allowances are for protected records only, and a
// ClientHello is never protected, so anything larger is not a real client.
constexpr std::size_t kMaxRecord = 16384;
constexpr std::size_t kRecordHeader = 5;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kClientHelloType = 1;

std::string hex16(std::size_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) s += kDigits[(v >> shift) & 0xf];
  return s;
}

std::string_view as_text(std::span<const std::uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

// Plausible record version: 0x0300 (SSLv3) .. 0x0304. A first byte of 0x16
// followed by anything else is not TLS (it is not even SSLv2: that has no 0x16).
bool plausible_version(std::uint8_t major, std::uint8_t minor) { return major == 3 && minor <= 4; }

struct Cursor {
  std::span<const std::uint8_t> s;
  std::size_t base = 0;  // offset of s[0] in the handshake message, for error messages
  std::size_t pos = 0;
  std::size_t left() const { return s.size() - pos; }
  std::size_t offset() const { return base + pos; }
  std::span<const std::uint8_t> rest() const { return s.subspan(pos); }
};

// RFC 8446 4.2: "There MUST NOT be more than one extension of the same
// type"; a duplicate SNI is also a classic way to make two parsers disagree.
// Real hellos carry 10-20 extensions, nearly all numbered below 64, so one
// mask and a short list answer; a 64 K-bit set (8 KB to clear on every
// hello) is only built for a hello with more unusual types than the list holds.
class ExtensionSet {
 public:
  bool insert(std::uint16_t type) {  // false: seen before
    if (type < 64) {
      const std::uint64_t bit = std::uint64_t{1} << type;
      if (low_ & bit) return false;
      low_ |= bit;
      return true;
    }
    if (all_) {
      if (all_->test(type)) return false;
      all_->set(type);
      return true;
    }
    if (std::find(other_.begin(), other_.begin() + others_, type) != other_.begin() + others_) return false;
    if (others_ < other_.size()) {
      other_[others_++] = type;
      return true;
    }
    all_ = std::make_unique<std::bitset<65536>>();
    for (const std::uint16_t t : other_) all_->set(t);
    all_->set(type);
    return true;
  }

 private:
  std::uint64_t low_ = 0;
  std::array<std::uint16_t, 16> other_{};
  std::size_t others_ = 0;
  std::unique_ptr<std::bitset<65536>> all_;
};

// Keeps the error text; offsets are into the handshake message (its 4-byte
// header is offset 0), which is the same with one record or many.
struct Parser {
  std::string* error;
  int ext = -1;  // extension being parsed, named in errors

  [[gnu::cold]] bool fail(std::string_view field, std::string_view what, std::size_t off) {
    if (error) {
      std::string e = "ClientHello ";
      if (ext >= 0) e += "extension " + hex16(static_cast<std::size_t>(ext)) + " ";
      e.append(field).append(": ").append(what).append(" at offset ").append(std::to_string(off));
      *error = std::move(e);
    }
    return false;
  }
  // An n-byte big-endian integer. n is a template argument so that the
  // per-extension reads (a dozen or more per hello) compile to a few loads.
  template <std::size_t n>
  bool uint(Cursor& c, std::size_t& v, std::string_view field) {
    if (c.left() < n) return fail(field, "truncated", c.offset());
    v = 0;
    for (std::size_t i = 0; i < n; ++i) v = v << 8 | c.s[c.pos + i];
    c.pos += n;
    return true;
  }
  // A vector with an n-byte length prefix (RFC 8446 3.4).
  template <std::size_t n>
  bool vec(Cursor& c, Cursor& sub, std::string_view field) {
    const std::size_t at = c.offset();
    std::size_t len = 0;
    if (!uint<n>(c, len, field)) return false;
    if (len > c.left()) return too_long(field, len, c.left(), at);
    sub = Cursor{c.s.subspan(c.pos, len), c.offset()};
    c.pos += len;
    return true;
  }
  [[gnu::cold]] bool too_long(std::string_view field, std::size_t len, std::size_t left, std::size_t at) {
    return fail(field, "length " + std::to_string(len) + " exceeds the " + std::to_string(left) + " bytes left", at);
  }
  bool end(const Cursor& c, std::string_view field) {
    return c.left() == 0 || fail(field, std::to_string(c.left()) + " unexpected trailing bytes", c.offset());
  }

  bool server_name(Cursor body, ClientHello& out) {
    Cursor list;
    if (!vec<2>(body, list, "server_name_list") || !end(body, "server_name_list")) return false;
    if (list.left() == 0) return fail("server_name_list", "empty", list.base);
    while (list.left() > 0) {
      std::size_t type = 0;
      Cursor name;
      // Only host_name (0) is defined; other types are assumed to use the same
      // 2-byte length, as every deployed parser does, and are skipped.
      if (!uint<1>(list, type, "name_type") || !vec<2>(list, name, "host_name")) return false;
      if (type != 0) continue;
      if (name.left() == 0) return fail("host_name", "empty", name.base - 2);
      if (name.left() > 255) return fail("host_name", "longer than 255 bytes", name.base - 2);
      if (out.sni_count++ == 0) out.sni = as_text(name.s);
    }
    return true;
  }

  bool alpn(Cursor body, ClientHello& out) {
    Cursor list;
    if (!vec<2>(body, list, "protocol_name_list") || !end(body, "protocol_name_list")) return false;
    if (list.left() == 0) return fail("protocol_name_list", "empty", list.base);
    out.alpn_raw = as_text(list.s);
    while (list.left() > 0) {
      Cursor name;
      if (!vec<1>(list, name, "protocol_name")) return false;
      if (name.left() == 0) return fail("protocol_name", "empty", name.base - 1);
    }
    return true;
  }

  bool supported_versions(Cursor body, ClientHello& out) {
    Cursor list;
    if (!vec<1>(body, list, "versions") || !end(body, "versions")) return false;
    if (list.left() == 0 || list.left() % 2 != 0)
      return fail("versions", "length " + std::to_string(list.left()) + " is empty or odd", list.base - 1);
    out.supported_versions = as_text(list.s);
    return true;
  }

  // msg: the whole handshake message, header included.
  bool body(std::span<const std::uint8_t> msg, ClientHello& out) {
    Cursor c{msg, 0, 4};
    std::size_t v = 0;
    if (!uint<2>(c, v, "legacy_version")) return false;
    out.legacy_version = static_cast<std::uint16_t>(v);
    if (c.left() < 32) return fail("random", "truncated", c.offset());
    c.pos += 32;
    Cursor session_id, suites, compression, exts;
    if (!vec<1>(c, session_id, "legacy_session_id")) return false;
    if (session_id.left() > 32) return fail("legacy_session_id", "longer than 32 bytes", session_id.base - 1);
    if (!vec<2>(c, suites, "cipher_suites")) return false;
    if (suites.left() == 0 || suites.left() % 2 != 0)
      return fail("cipher_suites", "length " + std::to_string(suites.left()) + " is empty or odd", suites.base - 2);
    if (!vec<1>(c, compression, "legacy_compression_methods")) return false;
    if (compression.left() == 0) return fail("legacy_compression_methods", "empty", compression.base - 1);
    if (c.left() == 0) return true;  // SSLv3-era hellos may have no extensions at all
    if (!vec<2>(c, exts, "extensions") || !end(c, "extensions")) return false;

    ExtensionSet seen;
    while (exts.left() > 0) {
      std::size_t type = 0;
      Cursor data;
      if (!uint<2>(exts, type, "extension_type") || !vec<2>(exts, data, "extension_data")) return false;
      if (!seen.insert(static_cast<std::uint16_t>(type)))
        return fail("extension_type", "duplicate " + hex16(type), data.base - 4);
      ext = static_cast<int>(type);
      bool ok = true;
      switch (type) {
        case 0: ok = server_name(data, out); break;
        case 16: ok = alpn(data, out); break;
        case 43: ok = supported_versions(data, out); break;
        case 0xfe0d: out.has_ech = true; break;
        default: break;
      }
      ext = -1;
      if (!ok) return false;
    }
    return true;
  }
};

bool is_grease(std::uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

// Decided from the first bytes alone, so a plain-text client that sent one
// byte (or a PostgreSQL SSLRequest, which starts with 00) is answered now.
std::optional<HelloStatus> first_bytes_verdict(std::span<const std::uint8_t> data) {
  if (data.empty()) return HelloStatus::need_more;
  if (data[0] != kHandshake) return HelloStatus::not_tls;
  if (data.size() >= 2 && data[1] != 3) return HelloStatus::not_tls;
  if (data.size() >= 3 && !plausible_version(data[1], data[2])) return HelloStatus::not_tls;
  return std::nullopt;
}

[[gnu::cold]] HelloStatus malformed(std::string* error, std::string msg) {
  if (error) *error = std::move(msg);
  return HelloStatus::malformed;
}

// Where the walk over the records that carry the handshake message stands.
// Nothing is copied until the whole message is present: a partial hello is
// re-walked on the next call, which costs a few headers.
struct RecordWalk {
  std::array<std::uint8_t, 4> header{};  // the handshake header, which may span records
  std::size_t header_have = 0;
  std::size_t need = 0;  // the message's length with its header; 0 until the header is in
  std::size_t pos = 0;   // offset in data of the next record
  std::size_t got = 0;   // message bytes in the records walked so far
  std::size_t records = 0;
};

// The header of the record at w.pos: its content type and version once they
// have arrived (so a client that is not TLS is told early), then its length.
std::optional<HelloStatus> record_length(std::span<const std::uint8_t> data, const RecordWalk& w, std::size_t& len,
                                         std::string* error) {
  const std::size_t pos = w.pos;
  const std::size_t avail = data.size() - pos;
  if (pos > 0 && avail >= 1 && data[pos] != kHandshake)
    return malformed(error, "TLS record of content type " + std::to_string(data[pos]) + " at offset " +
                                std::to_string(pos) + " before the ClientHello ended");
  if (pos > 0 && avail >= 3 && !plausible_version(data[pos + 1], data[pos + 2]))
    return malformed(error, "TLS record version " + hex16(std::size_t{data[pos + 1]} << 8 | data[pos + 2]) +
                                " at offset " + std::to_string(pos) + " is not 0x0300..0x0304");
  if (avail < kRecordHeader) return HelloStatus::need_more;
  len = std::size_t{data[pos + 3]} << 8 | data[pos + 4];
  // RFC 8446 5.1: zero-length handshake fragments MUST NOT be sent.
  if (len == 0 || len > kMaxRecord)
    return malformed(error, "TLS record length " + std::to_string(len) + " at offset " + std::to_string(pos) +
                                " is not 1..16384");
  if (pos + kRecordHeader + len > kMaxClientHello) return HelloStatus::too_large;
  return std::nullopt;
}

// Gathers the 4-byte handshake header from the fragments as they come, and
// once it is complete, the message length it gives.
std::optional<HelloStatus> take_handshake_header(std::span<const std::uint8_t> frag, RecordWalk& w,
                                                 std::string* error) {
  for (std::size_t i = 0; w.header_have < 4 && i < frag.size(); ++i) w.header[w.header_have++] = frag[i];
  if (w.header_have >= 1 && w.header[0] != kClientHelloType)
    return malformed(error, "handshake type " + std::to_string(w.header[0]) + " at offset 5, expected 1 (ClientHello)");
  if (w.header_have == 4 && w.need == 0) {
    w.need = 4 + (std::size_t{w.header[1]} << 16 | std::size_t{w.header[2]} << 8 | w.header[3]);
    // Each record carries at most kMaxRecord, so this many headers at least.
    if (w.need + kRecordHeader * ((w.need + kMaxRecord - 1) / kMaxRecord) > kMaxClientHello)
      return HelloStatus::too_large;
  }
  return std::nullopt;
}

// Walks records until they hold the whole handshake message: complete, or
// why not yet or never.
HelloStatus walk_records(std::span<const std::uint8_t> data, RecordWalk& w, std::string* error) {
  while (w.need == 0 || w.got < w.need) {
    std::size_t len = 0;
    if (auto s = record_length(data, w, len, error)) return *s;
    const std::size_t avail = data.size() - w.pos;
    const auto frag = data.subspan(w.pos + kRecordHeader, std::min(len, avail - kRecordHeader));
    if (auto s = take_handshake_header(frag, w, error)) return *s;
    if (frag.size() < len) return HelloStatus::need_more;
    w.got += len;
    w.pos += kRecordHeader + len;
    ++w.records;
  }
  // The client sends nothing else until the server answers, so bytes after the
  // hello inside its last record are a protocol error (and a smuggling vector).
  if (w.got > w.need)
    return malformed(error, std::to_string(w.got - w.need) +
                                " bytes after the ClientHello in the TLS record ending at offset " +
                                std::to_string(w.pos));
  return HelloStatus::complete;
}

// The handshake message in one piece: in place when one record holds it,
// else its fragments joined in scratch.
std::span<const std::uint8_t> joined_message(std::span<const std::uint8_t> data, const RecordWalk& w,
                                             std::vector<std::uint8_t>& scratch) {
  if (w.records <= 1) return data.subspan(kRecordHeader, w.need);
  scratch.clear();
  scratch.reserve(w.need);
  for (std::size_t p = 0; p < w.pos;) {
    const std::size_t len = std::size_t{data[p + 3]} << 8 | data[p + 4];
    scratch.insert(scratch.end(), data.begin() + static_cast<std::ptrdiff_t>(p + kRecordHeader),
                   data.begin() + static_cast<std::ptrdiff_t>(p + kRecordHeader + len));
    p += kRecordHeader + len;
  }
  return scratch;
}

}  // namespace

HelloStatus parse_client_hello(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& scratch,
                               ClientHello& out, std::string* error) {
  out = ClientHello{};
  if (auto s = first_bytes_verdict(data)) return *s;
  RecordWalk walk;
  if (const HelloStatus s = walk_records(data, walk, error); s != HelloStatus::complete) return s;
  Parser parser{error};
  if (!parser.body(joined_message(data, walk, scratch), out)) {
    out = ClientHello{};
    return HelloStatus::malformed;
  }
  out.record_version = static_cast<std::uint16_t>(data[1] << 8 | data[2]);
  out.record_bytes = walk.pos;
  return HelloStatus::complete;
}

namespace {

// alpn_raw was validated by the parser, but a ClientHello may be built by
// hand, so decode defensively: stop at the first entry that does not fit.
// visit returns false to stop early.
template <typename Visit>
void each_alpn(std::string_view raw, Visit visit) {
  for (std::size_t i = 0; i < raw.size();) {
    const std::size_t len = static_cast<std::uint8_t>(raw[i]);
    if (len == 0 || len > raw.size() - i - 1) return;
    if (!visit(raw.substr(i + 1, len))) return;
    i += 1 + len;
  }
}

}  // namespace

std::vector<std::string> ClientHello::alpn() const {
  std::size_t count = 0;
  each_alpn(alpn_raw, [&](std::string_view) {
    ++count;
    return true;
  });
  std::vector<std::string> names;
  names.reserve(count);  // one allocation; names of up to 15 bytes need no other
  each_alpn(alpn_raw, [&](std::string_view name) {
    names.emplace_back(name);
    return true;
  });
  return names;
}

bool ClientHello::offers(std::string_view protocol) const {
  bool found = false;
  each_alpn(alpn_raw, [&](std::string_view name) {
    found = name == protocol;
    return !found;
  });
  return found;
}

std::uint16_t ClientHello::max_version() const {
  std::uint16_t best = 0;
  for (std::size_t i = 0; i + 1 < supported_versions.size(); i += 2) {
    const auto v = static_cast<std::uint16_t>(static_cast<std::uint8_t>(supported_versions[i]) << 8 |
                                              static_cast<std::uint8_t>(supported_versions[i + 1]));
    if (!is_grease(v)) best = std::max(best, v);
  }
  return best != 0 ? best : legacy_version;
}

}  // namespace snigate::wire
