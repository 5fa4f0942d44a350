// PROXY protocol v1 and v2 (haproxy's doc/proxy-protocol.txt). Every read
// checks what is left first; a length field is believed only after it is
// compared with the bytes the header may still take.
#include "wire/proxy_protocol.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace snigate::wire::proxy {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::size_t kV2Fixed = 16;  // signature, version/command, family, length
constexpr std::size_t kV1Shortest = 15;  // "PROXY UNKNOWN\r\n"
constexpr std::size_t kInetBlock = 12;
constexpr std::size_t kInet6Block = 36;
constexpr std::size_t kUnixBlock = 216;

Parsed answer(Status s) {
  Parsed p;
  p.status = s;
  return p;
}

Parsed bad(std::string_view version, std::string_view field, std::string_view what, std::size_t offset) {
  Parsed p = answer(Status::bad);
  p.error = std::string("PROXY ").append(version).append(" header: ").append(field).append(" ");
  p.error.append(what).append(" at offset ").append(std::to_string(offset));
  return p;
}

Parsed more(std::size_t n) {
  Parsed p = answer(Status::need_more);
  p.need = std::max<std::size_t>(n, 1);
  return p;
}

// Whether data could still be the start of the bytes in sig.
bool prefix_of(std::span<const std::uint8_t> data, std::span<const std::uint8_t> sig) {
  const std::size_t n = std::min(data.size(), sig.size());
  return std::equal(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n), sig.begin());
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

// ---- v1 -----------------------------------------------------------------

// One space-separated field of the v1 line and where it starts.
struct Field {
  std::string_view text;
  std::size_t offset = 0;
};

std::vector<Field> split_fields(std::string_view line) {
  std::vector<Field> out;
  std::size_t at = 0;
  while (out.size() < 7) {
    const std::size_t sp = line.find(' ', at);
    out.push_back({line.substr(at, sp == std::string_view::npos ? std::string_view::npos : sp - at), at});
    if (sp == std::string_view::npos) break;
    at = sp + 1;
  }
  return out;
}

bool v1_address(const Field& f, bool v6, Address& out) {
  if (f.text.empty() || f.text.size() > 45) return false;
  const std::string text(f.text);
  if (v6) {
    std::array<std::uint8_t, 16> b{};
    if (inet_pton(AF_INET6, text.c_str(), b.data()) != 1) return false;
    out = Address::from_v6(b, 0);
  } else {
    std::array<std::uint8_t, 4> b{};
    if (inet_pton(AF_INET, text.c_str(), b.data()) != 1) return false;
    out = Address::from_v4(b, 0);
  }
  return true;
}

bool v1_port(const Field& f, std::uint16_t& out) {
  if (f.text.empty() || f.text.size() > 5) return false;
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(f.text.data(), f.text.data() + f.text.size(), v);
  if (ec != std::errc{} || end != f.text.data() + f.text.size() || v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

Parsed parse_v1_line(std::string_view line, Header& out) {
  const std::vector<Field> f = split_fields(line);
  const std::string_view proto = f.size() > 1 ? f[1].text : std::string_view();
  if (proto == "UNKNOWN") return answer(Status::complete);  // the rest of the line is to be ignored
  const bool v6 = proto == "TCP6";
  if (proto != "TCP4" && !v6) return bad("v1", "protocol", "is not TCP4, TCP6 or UNKNOWN", kV1Prefix.size());
  if (f.size() != 6) return bad("v1", "line", "does not have 6 space-separated fields", 0);
  const std::string_view family = v6 ? "an IPv6 address" : "an IPv4 address";
  const std::string not_family = std::string("is not ").append(family);
  if (!v1_address(f[2], v6, out.source)) return bad("v1", "source address", not_family, f[2].offset);
  if (!v1_address(f[3], v6, out.destination)) return bad("v1", "destination address", not_family, f[3].offset);
  if (!v1_port(f[4], out.source.port)) return bad("v1", "source port", "is not a number up to 65535", f[4].offset);
  if (!v1_port(f[5], out.destination.port))
    return bad("v1", "destination port", "is not a number up to 65535", f[5].offset);
  out.has_addresses = true;
  return answer(Status::complete);
}

Parsed parse_v1(std::span<const std::uint8_t> data, Header& out) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), std::min(data.size(), kMaxV1));
  const std::size_t end = text.find_first_of("\r\n");
  if (end == std::string_view::npos) {
    if (text.size() >= kMaxV1) return bad("v1", "line", "has no CRLF within 107 bytes", 0);
    return more(text.size() < kV1Shortest ? kV1Shortest - text.size() : 1);
  }
  if (text[end] != '\r') return bad("v1", "line end", "is a bare LF", end);
  if (end + 1 == text.size())
    return text.size() < kMaxV1 ? more(1) : bad("v1", "line", "has no CRLF within 107 bytes", 0);
  if (text[end + 1] != '\n') return bad("v1", "line end", "is a CR not followed by LF", end);
  for (std::size_t i = 0; i < end; ++i)
    if (text[i] < 0x20 || text[i] > 0x7e) return bad("v1", "line", "has a byte that is not printable ASCII", i);
  out = Header{};
  out.version = 1;
  Parsed p = parse_v1_line(text.substr(0, end), out);
  out.length = end + 2;
  return p;
}

// ---- v2 -----------------------------------------------------------------

Parsed parse_tlvs(std::span<const std::uint8_t> block, std::size_t base, Header& out) {
  std::size_t pos = 0;
  while (pos < block.size()) {
    if (block.size() - pos < 3) return bad("v2", "TLV", "header truncated", base + pos);
    const std::size_t len = be16(&block[pos + 1]);
    if (len > block.size() - pos - 3)
      return bad("v2", "TLV length",
                 std::to_string(len) + " exceeds the " + std::to_string(block.size() - pos - 3) + " bytes left",
                 base + pos + 1);
    Tlv t;
    t.type = block[pos];
    t.value.assign(reinterpret_cast<const char*>(&block[pos + 3]), len);
    out.tlvs.push_back(std::move(t));
    pos += 3 + len;
  }
  return answer(Status::complete);
}

Parsed parse_v2(std::span<const std::uint8_t> data, Header& out) {
  if (data.size() < kV2Fixed) return more(kV2Fixed - data.size());
  const std::uint8_t ver_cmd = data[12];
  const std::uint8_t fam = data[13];
  if (ver_cmd >> 4 != 2) return bad("v2", "version", std::to_string(ver_cmd >> 4) + " is not 2", 12);
  const int command = ver_cmd & 0x0f;
  if (command > 1) return bad("v2", "command", std::to_string(command) + " is neither LOCAL (0) nor PROXY (1)", 12);
  const int family = fam >> 4;
  const int transport = fam & 0x0f;
  if (family > 3) return bad("v2", "address family", std::to_string(family) + " is unknown", 13);
  if (transport > 2) return bad("v2", "transport protocol", std::to_string(transport) + " is unknown", 13);
  const std::size_t total = kV2Fixed + be16(&data[14]);
  if (total > kMaxV2)
    return bad("v2", "length",
               std::to_string(total) + " bytes is more than snigate reads (" + std::to_string(kMaxV2) + ")", 14);
  if (data.size() < total) return more(total - data.size());
  out = Header{};
  out.version = 2;
  out.length = total;
  out.local = command == 0;
  const std::span<const std::uint8_t> rest = data.subspan(kV2Fixed, total - kV2Fixed);
  // LOCAL: the proxy's own connection, whatever follows; AF_UNSPEC: no
  // addresses, and nothing said about what follows either.
  if (out.local || family == 0) return answer(Status::complete);
  const std::size_t block = family == 1 ? kInetBlock : family == 2 ? kInet6Block : kUnixBlock;
  if (rest.size() < block)
    return bad("v2", "address block",
               "needs " + std::to_string(block) + " bytes, the header has " + std::to_string(rest.size()), kV2Fixed);
  const std::uint8_t* a = rest.data();
  if (family == 1) {
    std::array<std::uint8_t, 4> s{}, d{};
    std::copy_n(a, 4, s.begin());
    std::copy_n(a + 4, 4, d.begin());
    out.source = Address::from_v4(s, be16(a + 8));
    out.destination = Address::from_v4(d, be16(a + 10));
    out.has_addresses = true;
  } else if (family == 2) {
    std::array<std::uint8_t, 16> s{}, d{};
    std::copy_n(a, 16, s.begin());
    std::copy_n(a + 16, 16, d.begin());
    out.source = Address::from_v6(s, be16(a + 32));
    out.destination = Address::from_v6(d, be16(a + 34));
    out.has_addresses = true;
  }
  return parse_tlvs(rest.subspan(block), kV2Fixed + block, out);
}

// ---- encoding -------------------------------------------------------------

void put16(std::vector<std::uint8_t>& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_tlv(std::vector<std::uint8_t>& out, std::uint8_t type, std::span<const std::uint8_t> value) {
  out.push_back(type);
  put16(out, value.size());
  out.insert(out.end(), value.begin(), value.end());
}

std::string ip_text(const Address& a, bool as_v6) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.v4 && !as_v6) inet_ntop(AF_INET, &a.ip[12], buf, sizeof buf);
  else inet_ntop(AF_INET6, a.ip.data(), buf, sizeof buf);
  return buf;
}

std::vector<std::uint8_t> ssl_value(const Ssl& ssl) {
  std::vector<std::uint8_t> v{ssl.client};
  for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<std::uint8_t>(ssl.verify >> shift));
  if (!ssl.version.empty()) put_tlv(v, kSubtypeSslVersion, as_bytes(ssl.version));
  if (!ssl.cipher.empty()) put_tlv(v, kSubtypeSslCipher, as_bytes(ssl.cipher));
  return v;
}

std::string_view cut(std::string_view s) { return s.substr(0, 255); }

}  // namespace

Address Address::from_v4(const std::array<std::uint8_t, 4>& b, std::uint16_t port) {
  Address a;
  a.ip[10] = a.ip[11] = 0xff;
  std::copy(b.begin(), b.end(), a.ip.begin() + 12);
  a.v4 = true;
  a.port = port;
  return a;
}

Address Address::from_v6(const std::array<std::uint8_t, 16>& b, std::uint16_t port) {
  Address a;
  a.ip = b;
  const bool zeros = std::all_of(b.begin(), b.begin() + 10, [](std::uint8_t x) { return x == 0; });
  a.v4 = zeros && b[10] == 0xff && b[11] == 0xff;
  a.port = port;
  return a;
}

Parsed parse(std::span<const std::uint8_t> data, Header& out) {
  if (data.empty()) return more(1);
  if (prefix_of(data, as_bytes(kV1Prefix))) {
    if (data.size() < kV1Prefix.size()) return more(kV1Shortest - data.size());
    return parse_v1(data, out);
  }
  if (prefix_of(data, kV2Signature)) return parse_v2(data, out);
  return answer(Status::not_proxy);
}

std::optional<Ssl> read_ssl(std::string_view value) {
  if (value.size() < 5) return std::nullopt;
  Ssl ssl;
  ssl.client = static_cast<std::uint8_t>(value[0]);
  ssl.verify = 0;
  for (std::size_t i = 1; i < 5; ++i) ssl.verify = ssl.verify << 8 | static_cast<std::uint8_t>(value[i]);
  Header subs;
  const auto block = as_bytes(value.substr(5));
  if (parse_tlvs(block, 0, subs).status != Status::complete) return std::nullopt;
  for (const Tlv& t : subs.tlvs) {
    if (t.type == kSubtypeSslVersion) ssl.version = t.value;
    if (t.type == kSubtypeSslCipher) ssl.cipher = t.value;
  }
  return ssl;
}

std::vector<std::uint8_t> encode_v1(const Address& source, const Address& destination) {
  const bool v6 = !source.v4 || !destination.v4;
  const std::string line = std::string("PROXY ") + (v6 ? "TCP6 " : "TCP4 ") + ip_text(source, v6) + " " +
                           ip_text(destination, v6) + " " + std::to_string(source.port) + " " +
                           std::to_string(destination.port) + "\r\n";
  return {line.begin(), line.end()};
}

std::vector<std::uint8_t> encode_v2(const Address& source, const Address& destination, const Extras& extras) {
  const bool v6 = !source.v4 || !destination.v4;
  std::vector<std::uint8_t> out(kV2Signature.begin(), kV2Signature.end());
  out.push_back(0x21);                // version 2, PROXY
  out.push_back(v6 ? 0x21 : 0x11);  // AF_INET6 or AF_INET, STREAM
  put16(out, 0);                      // the length, filled in below
  if (v6) {
    out.insert(out.end(), source.ip.begin(), source.ip.end());
    out.insert(out.end(), destination.ip.begin(), destination.ip.end());
  } else {
    out.insert(out.end(), source.ip.begin() + 12, source.ip.end());
    out.insert(out.end(), destination.ip.begin() + 12, destination.ip.end());
  }
  put16(out, source.port);
  put16(out, destination.port);
  if (!extras.alpn.empty()) put_tlv(out, kTypeAlpn, as_bytes(cut(extras.alpn)));
  if (!extras.authority.empty()) put_tlv(out, kTypeAuthority, as_bytes(cut(extras.authority)));
  if (extras.ssl) {
    Ssl ssl = *extras.ssl;
    ssl.version = cut(ssl.version);
    ssl.cipher = cut(ssl.cipher);
    put_tlv(out, kTypeSsl, ssl_value(ssl));
  }
  const std::size_t len = out.size() - kV2Fixed;
  out[14] = static_cast<std::uint8_t>(len >> 8);
  out[15] = static_cast<std::uint8_t>(len);
  return out;
}

std::vector<std::uint8_t> encode_v1_unknown() {
  constexpr std::string_view line = "PROXY UNKNOWN\r\n";
  return {line.begin(), line.end()};
}

std::vector<std::uint8_t> encode_v2_local() {
  // Sized once: growing a 12-byte vector by an initializer list made GCC's
  // Release build warn (-Warray-bounds) about the copy into the new storage.
  std::vector<std::uint8_t> out(kV2Fixed, 0x00);  // family, protocol and length stay 0
  std::copy(kV2Signature.begin(), kV2Signature.end(), out.begin());
  out[kV2Signature.size()] = 0x20;  // version 2, LOCAL
  return out;
}

std::string to_string(const Address& a) {
  const std::string port = std::to_string(a.port);
  return a.v4 ? ip_text(a, false) + ":" + port : "[" + ip_text(a, true) + "]:" + port;
}

}  // namespace snigate::wire::proxy
