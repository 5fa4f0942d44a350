// PROXY protocol codec: v1 and v2 headers as HAProxy 2.6 sends them (bytes
// written out from proxy-protocol.txt's layouts), every prefix of each
// (need_more, never a wrong answer), corruptions, and encode/parse round trips.
#include <gtest/gtest.h>

#include <string>

#include "wire/proxy_protocol.hpp"

namespace snigate::wire::proxy {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes str(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
  return Address::from_v4({a, b, c, d}, port);
}

// A v2 header by hand: signature, ver/cmd, family, length, then body.
Bytes v2_raw(std::uint8_t ver_cmd, std::uint8_t fam, const Bytes& body) {
  Bytes out(kV2Signature.begin(), kV2Signature.end());
  out.push_back(ver_cmd);
  out.push_back(fam);
  out.push_back(static_cast<std::uint8_t>(body.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(body.size()));
  return cat(out, body);
}

const Bytes kInet4Body{127, 0, 0, 2, 127, 0, 0, 1, 0xd4, 0x31, 0x01, 0xbb};  // 127.0.0.2:54321 -> 127.0.0.1:443

Parsed parse_all(const Bytes& b, Header& h) { return parse(b, h); }

TEST(ProxyV1, Tcp4) {
  Header h;
  const Bytes b = cat(str("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n"), str("\x16\x03\x01"));
  const Parsed p = parse_all(b, h);
  ASSERT_EQ(p.status, Status::complete) << p.error;
  EXPECT_EQ(h.version, 1);
  EXPECT_TRUE(h.has_addresses);
  EXPECT_EQ(h.length, b.size() - 3);
  EXPECT_EQ(h.source, v4(192, 0, 2, 7, 56324));
  EXPECT_EQ(h.destination, v4(198, 51, 100, 1, 443));
  EXPECT_EQ(to_string(h.source), "192.0.2.7:56324");
}

TEST(ProxyV1, Tcp6) {
  Header h;
  const Parsed p = parse_all(str("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n"), h);
  ASSERT_EQ(p.status, Status::complete) << p.error;
  EXPECT_FALSE(h.source.v4);
  EXPECT_EQ(to_string(h.source), "[2001:db8::1]:1");
  EXPECT_EQ(h.destination.port, 65535);
}

TEST(ProxyV1, UnknownIgnoresTheRestOfTheLine) {
  Header h;
  const Bytes b = str("PROXY UNKNOWN ffff::1 whatever\r\nrest");
  const Parsed p = parse_all(b, h);
  ASSERT_EQ(p.status, Status::complete) << p.error;
  EXPECT_FALSE(h.has_addresses);
  EXPECT_EQ(h.length, b.size() - 4);
}

TEST(ProxyV1, EveryPrefixNeedsMore) {
  const Bytes b = str("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n");
  for (std::size_t n = 0; n < b.size(); ++n) {
    Header h;
    const Parsed p = parse(std::span(b).first(n), h);
    ASSERT_EQ(p.status, Status::need_more) << n;
    EXPECT_GE(p.need, 1u);
    EXPECT_LE(n + p.need, b.size()) << "asks for more than the header has, at " << n;
  }
}

TEST(ProxyV1, Refusals) {
  const std::pair<std::string, std::string> cases[] = {
      {"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", "protocol is not TCP4, TCP6 or UNKNOWN at offset 6"},
      {"PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", "source address is not an IPv4 address at offset 11"},
      {"PROXY TCP4 1.2.3.4 ::1 1 2\r\n", "destination address is not an IPv4 address at offset 19"},
      {"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "source address is not an IPv6 address at offset 11"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "source port is not a number up to 65535 at offset 27"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 1 -2\r\n", "destination port is not a number up to 65535 at offset 29"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", "line does not have 6 space-separated fields at offset 0"},
      {"PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", "line does not have 6 space-separated fields at offset 0"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", "line end is a bare LF at offset 30"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX", "line end is a CR not followed by LF at offset 30"},
      {"PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n", "line has a byte that is not printable ASCII at offset 18"},
      {"PROXY " + std::string(101, 'A'), "line has no CRLF within 107 bytes at offset 0"},
  };
  for (const auto& [text, want] : cases) {
    Header h;
    const Parsed p = parse(str(text), h);
    EXPECT_EQ(p.status, Status::bad) << text;
    EXPECT_EQ(p.error, "PROXY v1 header: " + want) << text;
  }
}

TEST(ProxyDetect, NotProxy) {
  for (const std::string& text : {std::string("\x16\x03\x01\x02\x00", 5), std::string("GET / HTTP/1.1\r\n"),
                                 std::string("\0\0\0\x08\x04\xd2\x16\x2f", 8), std::string("PROXZ"),
                                 std::string("\r\n\r\n\0\r\nQUIX", 12), std::string("proxy TCP4")}) {
    Header h;
    EXPECT_EQ(parse(str(text), h).status, Status::not_proxy) << text;
  }
  Header h;
  const Parsed p = parse({}, h);
  EXPECT_EQ(p.status, Status::need_more);
  EXPECT_EQ(p.need, 1u);
}

TEST(ProxyV2, Inet4WithTlvs) {
  Bytes body = kInet4Body;
  body = cat(body, Bytes{0x02, 0x00, 0x0b});
  body = cat(body, str("example.com"));
  body = cat(body, Bytes{0x01, 0x00, 0x02, 'h', '2'});
  Header h;
  const Bytes b = cat(v2_raw(0x21, 0x11, body), str("after"));
  const Parsed p = parse_all(b, h);
  ASSERT_EQ(p.status, Status::complete) << p.error;
  EXPECT_EQ(h.version, 2);
  EXPECT_FALSE(h.local);
  EXPECT_EQ(h.length, b.size() - 5);
  EXPECT_EQ(h.source, v4(127, 0, 0, 2, 54321));
  EXPECT_EQ(h.destination, v4(127, 0, 0, 1, 443));
  ASSERT_EQ(h.tlvs.size(), 2u);
  EXPECT_EQ(h.tlvs[0], (Tlv{kTypeAuthority, "example.com"}));
  EXPECT_EQ(h.tlvs[1], (Tlv{kTypeAlpn, "h2"}));
}

TEST(ProxyV2, Inet6) {
  Bytes body(36, 0);
  body[15] = 1;  // ::1
  body[16] = 0x20, body[17] = 0x01, body[18] = 0x0d, body[19] = 0xb8, body[31] = 7;  // 2001:db8::7
  body[32] = 0x01, body[33] = 0x02, body[34] = 0x00, body[35] = 0x50;
  Header h;
  const Parsed p = parse_all(v2_raw(0x21, 0x21, body), h);
  ASSERT_EQ(p.status, Status::complete) << p.error;
  EXPECT_EQ(to_string(h.source), "[::1]:258");
  EXPECT_EQ(to_string(h.destination), "[2001:db8::7]:80");
}

TEST(ProxyV2, LocalAndUnspecCarryNoAddresses) {
  Header h;
  ASSERT_EQ(parse(encode_v2_local(), h).status, Status::complete);
  EXPECT_TRUE(h.local);
  EXPECT_FALSE(h.has_addresses);
  EXPECT_EQ(h.length, 16u);
  // LOCAL with an address block (HAProxy's health checks may send one): still the proxy's own.
  ASSERT_EQ(parse(v2_raw(0x20, 0x11, kInet4Body), h).status, Status::complete);
  EXPECT_TRUE(h.local);
  EXPECT_FALSE(h.has_addresses);
  EXPECT_EQ(h.length, 28u);
  ASSERT_EQ(parse(v2_raw(0x21, 0x00, Bytes{1, 2, 3}), h).status, Status::complete);
  EXPECT_FALSE(h.has_addresses);
  ASSERT_EQ(parse(v2_raw(0x21, 0x31, Bytes(216, 0)), h).status, Status::complete);  // AF_UNIX
  EXPECT_FALSE(h.has_addresses);
}

TEST(ProxyV2, EveryPrefixNeedsMore) {
  const Bytes b = encode_v2(v4(10, 0, 0, 1, 1), v4(10, 0, 0, 2, 2), {"db.example", "h2", Ssl{1, 0, "TLSv1.3", "X"}});
  for (std::size_t n = 0; n < b.size(); ++n) {
    Header h;
    const Parsed p = parse(std::span(b).first(n), h);
    ASSERT_EQ(p.status, Status::need_more) << n;
    EXPECT_LE(n + p.need, b.size()) << n;
  }
}

TEST(ProxyV2, Refusals) {
  const std::pair<Bytes, std::string> cases[] = {
      {v2_raw(0x11, 0x11, kInet4Body), "version 1 is not 2 at offset 12"},
      {v2_raw(0x22, 0x11, kInet4Body), "command 2 is neither LOCAL (0) nor PROXY (1) at offset 12"},
      {v2_raw(0x21, 0x41, kInet4Body), "address family 4 is unknown at offset 13"},
      {v2_raw(0x21, 0x13, kInet4Body), "transport protocol 3 is unknown at offset 13"},
      {v2_raw(0x21, 0x11, Bytes(11, 0)), "address block needs 12 bytes, the header has 11 at offset 16"},
      {v2_raw(0x21, 0x21, kInet4Body), "address block needs 36 bytes, the header has 12 at offset 16"},
      {v2_raw(0x21, 0x11, cat(kInet4Body, Bytes{0x02, 0x00})), "TLV header truncated at offset 28"},
      {v2_raw(0x21, 0x11, cat(kInet4Body, Bytes{0x02, 0x00, 0x05, 'a'})),
       "TLV length 5 exceeds the 1 bytes left at offset 29"},
      {v2_raw(0x21, 0x11, Bytes(kMaxV2 - 15, 0)), "length 4097 bytes is more than snigate reads (4096) at offset 14"},
  };
  for (const auto& [bytes, want] : cases) {
    Header h;
    const Parsed p = parse(bytes, h);
    EXPECT_EQ(p.status, Status::bad) << want;
    EXPECT_EQ(p.error, "PROXY v2 header: " + want);
  }
}

TEST(ProxyV2, TooLongIsRefusedBeforeItArrives) {
  Bytes b = v2_raw(0x21, 0x11, Bytes(kMaxV2, 0));
  b.resize(16);
  Header h;
  EXPECT_EQ(parse(b, h).status, Status::bad);
}

TEST(ProxyEncode, V1) {
  EXPECT_EQ(encode_v1(v4(127, 0, 0, 2, 40000), v4(127, 0, 0, 1, 443)),
            str("PROXY TCP4 127.0.0.2 127.0.0.1 40000 443\r\n"));
  std::array<std::uint8_t, 16> one{};
  one[15] = 1;
  EXPECT_EQ(encode_v1(v4(127, 0, 0, 2, 1), Address::from_v6(one, 2)), str("PROXY TCP6 ::ffff:127.0.0.2 ::1 1 2\r\n"));
  EXPECT_EQ(encode_v1_unknown(), str("PROXY UNKNOWN\r\n"));
}

TEST(ProxyEncode, V2Bytes) {
  const Bytes want = v2_raw(0x21, 0x11, cat(kInet4Body, cat(Bytes{0x02, 0x00, 0x01}, str("a"))));
  EXPECT_EQ(encode_v2(v4(127, 0, 0, 2, 54321), v4(127, 0, 0, 1, 443), {"a", "", std::nullopt}), want);
}

TEST(ProxyEncode, RoundTrips) {
  std::array<std::uint8_t, 16> six{0x20, 0x01, 0x0d, 0xb8};
  six[15] = 9;
  const Address pairs[][2] = {{v4(1, 2, 3, 4, 5), v4(6, 7, 8, 9, 10)},
                              {Address::from_v6(six, 443), v4(127, 0, 0, 1, 8443)},
                              {Address::from_v6(six, 1), Address::from_v6(six, 2)}};
  const Extras extras{"db.example.com", "postgresql",
                      Ssl{kClientSsl | kClientCertConn, 19, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"}};
  for (const auto& [src, dst] : pairs) {
    Header h;
    const Bytes one = encode_v1(src, dst);
    ASSERT_EQ(parse(one, h).status, Status::complete);
    EXPECT_EQ(h.length, one.size());
    EXPECT_EQ(to_string(h.source), to_string(src));
    EXPECT_EQ(h.destination.port, dst.port);
    const Bytes two = encode_v2(src, dst, extras);
    ASSERT_EQ(parse(two, h).status, Status::complete);
    EXPECT_EQ(h.length, two.size());
    EXPECT_EQ(to_string(h.source), to_string(src));
    EXPECT_EQ(to_string(h.destination), to_string(dst));
    ASSERT_EQ(h.tlvs.size(), 3u);
    EXPECT_EQ(h.tlvs[0], (Tlv{kTypeAlpn, "postgresql"}));
    EXPECT_EQ(h.tlvs[1], (Tlv{kTypeAuthority, "db.example.com"}));
    EXPECT_EQ(h.tlvs[2].type, kTypeSsl);
    EXPECT_EQ(read_ssl(h.tlvs[2].value), extras.ssl);
  }
}

TEST(ProxyEncode, LongNamesAreCut) {
  const Bytes b = encode_v2(v4(1, 1, 1, 1, 1), v4(2, 2, 2, 2, 2), {std::string(300, 'a'), "", std::nullopt});
  Header h;
  ASSERT_EQ(parse(b, h).status, Status::complete);
  EXPECT_EQ(h.tlvs.at(0).value.size(), 255u);
}

TEST(ProxySsl, Malformed) {
  EXPECT_FALSE(read_ssl("abcd"));
  EXPECT_FALSE(read_ssl(std::string("\x01\0\0\0\0\x21\0\x09TLS", 11)));
  EXPECT_EQ(read_ssl(std::string("\x01\0\0\0\0", 5)), (Ssl{1, 0, "", ""}));
}

// Single-byte corruptions of a full header never read outside it (ASan) and
// always end in one of the four answers with an error for bad.
TEST(ProxyRobust, Corruptions) {
  const Bytes headers[] = {encode_v1(v4(1, 2, 3, 4, 5), v4(6, 7, 8, 9, 10)),
                           encode_v2(v4(1, 2, 3, 4, 5), v4(6, 7, 8, 9, 10), {"x", "h2", Ssl{}})};
  for (const Bytes& good : headers)
    for (std::size_t i = 0; i < good.size(); ++i)
      for (const std::uint8_t v : {0x00, 0x0a, 0x0d, 0x20, 0x7f, 0xff}) {
        Bytes b = good;
        b[i] = v;
        Header h;
        const Parsed p = parse(b, h);
        EXPECT_EQ(p.status == Status::bad, !p.error.empty());
        EXPECT_TRUE(p.status != Status::complete || h.length <= b.size());
      }
}

}  // namespace
}  // namespace snigate::wire::proxy
