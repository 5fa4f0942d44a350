#pragma once
// The PROXY protocol (HAProxy's proxy-protocol.txt), versions 1 and 2: a
// header a proxy sends before the client's bytes, saying whose connection it
// is. parse() reads one from the first bytes of a connection without
// consuming anything (the caller peeks, then takes exactly header.length
// bytes); encode_v1/encode_v2 build the one snigate sends to a server.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace snigate::wire::proxy {

inline constexpr std::size_t kMaxV1 = 107;  // the longest v1 line, CRLF included (the spec's bound)
// snigate reads at most this much of a v2 header (16 bytes and the rest its
// length field announces): room for the addresses and a few TLVs.
inline constexpr std::size_t kMaxV2 = 4096;
inline constexpr std::array<std::uint8_t, 12> kV2Signature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                            0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// TLV types and PP2_TYPE_SSL's parts (proxy-protocol.txt 2.2).
inline constexpr std::uint8_t kTypeAlpn = 0x01;
inline constexpr std::uint8_t kTypeAuthority = 0x02;
inline constexpr std::uint8_t kTypeSsl = 0x20;
inline constexpr std::uint8_t kSubtypeSslVersion = 0x21;
inline constexpr std::uint8_t kSubtypeSslCipher = 0x23;
inline constexpr std::uint8_t kClientSsl = 0x01;       // PP2_CLIENT_SSL
inline constexpr std::uint8_t kClientCertConn = 0x02;  // PP2_CLIENT_CERT_CONN

// An IPv4 or IPv6 address and a port. IPv4 is kept as ::ffff:a.b.c.d with v4
// set, the way snigate's IpAddress keeps it.
struct Address {
  std::array<std::uint8_t, 16> ip{};
  bool v4 = false;
  std::uint16_t port = 0;
  static Address from_v4(const std::array<std::uint8_t, 4>& b, std::uint16_t port);
  static Address from_v6(const std::array<std::uint8_t, 16>& b, std::uint16_t port);  // v4 when IPv4-mapped
  friend bool operator==(const Address&, const Address&) = default;
};

struct Tlv {
  std::uint8_t type = 0;
  std::string value;
  friend bool operator==(const Tlv&, const Tlv&) = default;
};

struct Header {
  int version = 0;  // 1 or 2
  // The addresses are the client's: a v1 TCP4/TCP6 line, a v2 PROXY command
  // for AF_INET/AF_INET6. false for v1 UNKNOWN, v2 LOCAL (the proxy's own
  // connection, e.g. a health check) and v2 AF_UNSPEC/AF_UNIX: the receiver
  // then uses the connection's own addresses.
  bool has_addresses = false;
  bool local = false;  // v2 LOCAL command
  Address source;
  Address destination;
  std::vector<Tlv> tlvs;  // v2 only, in the order sent
  std::size_t length = 0;  // bytes of input the header takes
};

enum class Status {
  need_more,  // a valid prefix: read at least `need` more bytes and call again with all of them
  not_proxy,  // the first bytes differ from both signatures: no header, the client's own bytes
  bad,        // a signature, then something that is not a valid header: error says what and where
  complete,   // out is filled
};

struct Parsed {
  Status status = Status::need_more;
  std::size_t need = 0;  // need_more: at least this many more bytes
  std::string error;     // bad: the field, what is wrong, its offset
};

// data: every byte received so far, from the first.
Parsed parse(std::span<const std::uint8_t> data, Header& out);

// PP2_TYPE_SSL's content: the client flags, verify and the sub-TLVs snigate uses.
struct Ssl {
  std::uint8_t client = kClientSsl;
  std::uint32_t verify = 0;  // 0: the client's certificate was verified, or none was given
  std::string version;       // e.g. "TLSv1.3"
  std::string cipher;        // e.g. "TLS_AES_128_GCM_SHA256"
  friend bool operator==(const Ssl&, const Ssl&) = default;
};
std::optional<Ssl> read_ssl(std::string_view value);  // nullopt: malformed

// What a v2 header snigate sends carries besides the addresses; empty fields
// are left out.
struct Extras {
  std::string authority;  // PP2_TYPE_AUTHORITY: the name the client asked for
  std::string alpn;       // PP2_TYPE_ALPN: the protocol negotiated with the client
  std::optional<Ssl> ssl;  // PP2_TYPE_SSL: snigate terminated the client's TLS
};

// v1: "PROXY TCP4|TCP6 src dst sport dport\r\n". Mixed families are sent as
// TCP6 with the IPv4 one IPv4-mapped.
std::vector<std::uint8_t> encode_v1(const Address& source, const Address& destination);
// v2 PROXY over STREAM, AF_INET or AF_INET6 (mixed families as v1 does), and
// the TLVs of extras that are set. A name too long for the header is cut
// off at 255 bytes; an ALPN the same.
std::vector<std::uint8_t> encode_v2(const Address& source, const Address& destination, const Extras& extras = {});
// v1 "PROXY UNKNOWN\r\n" / v2 LOCAL: the connection is the proxy's own.
std::vector<std::uint8_t> encode_v1_unknown();
std::vector<std::uint8_t> encode_v2_local();

std::string to_string(const Address& a);  // "a.b.c.d:p" or "[v6]:p"

}  // namespace snigate::wire::proxy
