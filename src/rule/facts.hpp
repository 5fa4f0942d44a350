#pragma once
// What a client has said about itself before a route is chosen. Rules are pure
// functions of Facts, so they are tested and fuzzed without sockets.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace snigate {

// An IPv4 or IPv6 address; IPv4 is kept as an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) so that one comparison serves both families.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool v4 = false;

  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress from_bytes(const std::array<std::uint8_t, 16>& bytes);  // v4 when IPv4-mapped
  static IpAddress from_v4(const std::array<std::uint8_t, 4>& bytes);
  std::string to_string() const;
  std::string with_port(std::uint16_t port) const;  // "a.b.c.d:p" or "[v6]:p"
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct Facts {
  bool tls = false;                      // the client started TLS (or a protocol's TLS upgrade)
  std::string_view sni;                  // lowercase, empty when none was sent
  std::span<const std::string> alpn;     // protocols offered by the client, in its order
  std::optional<IpAddress> client_ip;
};

}  // namespace snigate
