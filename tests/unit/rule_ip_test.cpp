#include <gtest/gtest.h>

#include <variant>

#include "rule/facts.hpp"
#include "rule/rule.hpp"

namespace snigate {
namespace {

IpAddress ip(std::string_view text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

TEST(RuleIpAddress, ParsesDottedQuadAsMapped) {
  const IpAddress a = ip("192.0.2.7");
  EXPECT_TRUE(a.v4);
  const std::array<std::uint8_t, 16> want{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
  EXPECT_EQ(a.bytes, want);
  EXPECT_EQ(a.to_string(), "192.0.2.7");
}

TEST(RuleIpAddress, MappedSpellingEqualsDottedQuad) {
  EXPECT_EQ(ip("::ffff:1.2.3.4"), ip("1.2.3.4"));
  EXPECT_EQ(ip("::FFFF:0102:0304"), ip("1.2.3.4"));
  EXPECT_TRUE(ip("::ffff:1.2.3.4").v4);
  EXPECT_EQ(ip("::ffff:1.2.3.4").to_string(), "1.2.3.4");
}

TEST(RuleIpAddress, ParsesIpv6Forms) {
  EXPECT_EQ(ip("::").to_string(), "::");
  EXPECT_EQ(ip("::1").to_string(), "::1");
  EXPECT_FALSE(ip("::1").v4);
  EXPECT_EQ(ip("2001:DB8:0:0:0:0:0:1").to_string(), "2001:db8::1");
  EXPECT_EQ(ip("fe80::1:2").to_string(), "fe80::1:2");
  EXPECT_EQ(ip("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255").to_string(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  // The IPv4-compatible (not mapped) form is an IPv6 address.
  EXPECT_FALSE(ip("::1.2.3.4").v4);
}

TEST(RuleIpAddress, RejectsGarbage) {
  for (std::string_view bad :
       {"", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "a.b.c.d", "1.2.3.-1", ":::", "1::2::3",
        "12345::", "fe80::1%eth0", "::ffff:1.2.3.256", "1.2.3.4/8", "localhost", "0x7f.0.0.1",
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:1", "1:2:3:4:5:6:7:8:9"}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value()) << '"' << bad << '"';
  }
  // An embedded NUL must not cut the text short.
  EXPECT_FALSE(IpAddress::parse(std::string_view("1.2.3.4\0junk", 12)).has_value());
  EXPECT_FALSE(IpAddress::parse(std::string(100, '1')).has_value());
}

TEST(RuleIpAddress, RoundTrips) {
  for (std::string_view s : {"0.0.0.0", "255.255.255.255", "10.1.2.3", "::", "::1", "2001:db8::", "fe80::1",
                             "2001:db8:1:2:3:4:5:6"}) {
    EXPECT_EQ(ip(s).to_string(), s);
    EXPECT_EQ(ip(ip(s).to_string()), ip(s));
  }
}

TEST(RuleIpAddress, FromBytesAndWithPort) {
  const IpAddress a = IpAddress::from_bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7});
  EXPECT_EQ(a, ip("192.0.2.7"));
  EXPECT_TRUE(a.v4);
  EXPECT_EQ(a.with_port(443), "192.0.2.7:443");
  EXPECT_EQ(IpAddress::from_v4({192, 0, 2, 7}), a);
  EXPECT_EQ(ip("0.0.0.0").with_port(1), "0.0.0.0:1");
  EXPECT_EQ(ip("255.255.255.255").with_port(65535), "255.255.255.255:65535");
  const IpAddress b = IpAddress::from_bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  EXPECT_FALSE(b.v4);
  EXPECT_EQ(b, ip("2001:db8::1"));
  EXPECT_EQ(b.with_port(8443), "[2001:db8::1]:8443");
  EXPECT_EQ(ip("::ffff:10.0.0.1").with_port(80), "10.0.0.1:80");  // a dual-stack socket's spelling
}

// ClientIP, through the public rule API.

bool client_ip_matches(std::string_view rule_text, std::string_view client) {
  auto parsed = rule::parse(rule_text);
  if (auto* e = std::get_if<rule::ParseError>(&parsed)) {
    ADD_FAILURE() << rule_text << ": " << e->message;
    return false;
  }
  Facts f;
  f.client_ip = IpAddress::parse(client);
  EXPECT_TRUE(f.client_ip) << client;
  return rule::match(std::get<rule::Rule>(parsed), f);
}

TEST(RuleClientIp, Ipv4Cidr) {
  EXPECT_TRUE(client_ip_matches("ClientIP(`10.0.0.0/8`)", "10.255.1.2"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`10.0.0.0/8`)", "11.0.0.1"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`192.168.1.0/24`)", "192.168.1.255"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`192.168.1.0/24`)", "192.168.2.0"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`172.16.0.0/12`)", "172.31.255.255"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`172.16.0.0/12`)", "172.32.0.0"));
}

TEST(RuleClientIp, Ipv4EdgePrefixes) {
  EXPECT_TRUE(client_ip_matches("ClientIP(`0.0.0.0/0`)", "203.0.113.9"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`0.0.0.0/0`)", "0.0.0.0"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`0.0.0.0/0`)", "2001:db8::1"));  // /0 of IPv4 is every IPv4 client only
  EXPECT_TRUE(client_ip_matches("ClientIP(`1.2.3.4/32`)", "1.2.3.4"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`1.2.3.4/32`)", "1.2.3.5"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`1.2.3.4`)", "1.2.3.4"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`1.2.3.4`)", "1.2.3.5"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`1.2.3.5/31`)", "1.2.3.4"));  // host bits are ignored
}

TEST(RuleClientIp, Ipv4RangeMatchesMappedClient) {
  EXPECT_TRUE(client_ip_matches("ClientIP(`10.0.0.0/8`)", "::ffff:10.9.8.7"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`::ffff:10.0.0.0/104`)", "10.9.8.7"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`::ffff:10.0.0.0/104`)", "11.9.8.7"));
}

TEST(RuleClientIp, Ipv6Cidr) {
  EXPECT_TRUE(client_ip_matches("ClientIP(`2001:db8::/32`)", "2001:db8:ffff::1"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`2001:db8::/32`)", "2001:db9::1"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`2001:db8::/33`)", "2001:db8:7fff::1"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`2001:db8::/33`)", "2001:db8:8000::1"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`fe80::/10`)", "febf::1"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`fe80::/10`)", "fec0::1"));
}

TEST(RuleClientIp, Ipv6EdgePrefixes) {
  EXPECT_TRUE(client_ip_matches("ClientIP(`::/0`)", "2001:db8::1"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`::/0`)", "::"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`::/0`)", "10.0.0.1"));  // as Go's net.IPNet: families do not mix
  EXPECT_TRUE(client_ip_matches("ClientIP(`::1/128`)", "::1"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`::1/128`)", "::2"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`::1`)", "::1"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`2001:db8::1/127`)", "2001:db8::"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`2001:db8::1/127`)", "2001:db8::2"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`::1`)", "0.0.0.1"));
}

TEST(RuleClientIp, SeveralArgumentsMeanAnyOf) {
  EXPECT_TRUE(client_ip_matches("ClientIP(`10.0.0.0/8`, `2001:db8::/32`)", "2001:db8::5"));
  EXPECT_TRUE(client_ip_matches("ClientIP(`10.0.0.0/8`, `2001:db8::/32`)", "10.0.0.5"));
  EXPECT_FALSE(client_ip_matches("ClientIP(`10.0.0.0/8`, `2001:db8::/32`)", "192.0.2.1"));
}

TEST(RuleClientIp, UnknownClientAddressDoesNotMatch) {
  auto r = std::get<rule::Rule>(rule::parse("ClientIP(`0.0.0.0/0`, `::/0`)"));
  EXPECT_FALSE(rule::match(r, Facts{}));
  EXPECT_EQ(rule::explain_mismatch(r, Facts{}),
            "ClientIP(`0.0.0.0/0`, `::/0`) needs the client address; it is not known");
}

TEST(RuleClientIp, BadRangesAreParseErrors) {
  struct Case {
    std::string_view rule;
    std::size_t offset;
    std::string_view needle;
  };
  for (const Case& c : {
           Case{"ClientIP(`10.0.0.0/33`)", 9, "longer than 32 bits"},
           Case{"ClientIP(`::/129`)", 9, "longer than 128 bits"},
           Case{"ClientIP(`10.0.0.0/`)", 9, "must be a number"},
           Case{"ClientIP(`10.0.0.0/+8`)", 9, "must be a number"},
           Case{"ClientIP(`10.0.0.0/8/8`)", 9, "must be a number"},
           Case{"ClientIP(`10.0.0/8`)", 9, "not an IP address"},
           Case{"ClientIP(`example.com`)", 9, "not an IP address"},
           Case{"ClientIP(``)", 9, "not an IP address"},
           Case{"ClientIP(`fe80::1%eth0`)", 9, "zone"},
           Case{"ClientIP(`1.2.3.4`, `nope`)", 20, "`nope`"},
       }) {
    auto parsed = rule::parse(c.rule);
    ASSERT_TRUE(std::holds_alternative<rule::ParseError>(parsed)) << c.rule;
    const auto& e = std::get<rule::ParseError>(parsed);
    EXPECT_EQ(e.offset, c.offset) << c.rule << ": " << e.message;
    EXPECT_NE(e.message.find(c.needle), std::string::npos) << c.rule << ": " << e.message;
  }
}

}  // namespace
}  // namespace snigate
