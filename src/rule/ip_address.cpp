#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "rule/facts.hpp"

namespace snigate {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_mapped(const std::array<std::uint8_t, 16>& bytes) {
  return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin());
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton wants a NUL-terminated string; the longest valid text form is
  // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" (45 bytes), so anything
  // longer, or with an embedded NUL that would cut the text short, is garbage.
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';

  IpAddress addr;
  if (text.find(':') == std::string_view::npos) {
    in_addr a4{};
    if (inet_pton(AF_INET, buf, &a4) != 1) return std::nullopt;
    std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), addr.bytes.begin());
    std::memcpy(addr.bytes.data() + 12, &a4, 4);
  } else {
    in6_addr a6{};
    if (inet_pton(AF_INET6, buf, &a6) != 1) return std::nullopt;
    std::memcpy(addr.bytes.data(), &a6, 16);
  }
  // "::ffff:1.2.3.4" is the same client as "1.2.3.4" (a dual-stack socket
  // reports it that way), so both spellings give equal addresses.
  addr.v4 = is_mapped(addr.bytes);
  return addr;
}

IpAddress IpAddress::from_bytes(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress addr;
  addr.bytes = bytes;
  addr.v4 = is_mapped(bytes);
  return addr;
}

IpAddress IpAddress::from_v4(const std::array<std::uint8_t, 4>& bytes) {
  IpAddress addr;
  std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), addr.bytes.begin());
  std::copy(bytes.begin(), bytes.end(), addr.bytes.begin() + 12);
  addr.v4 = true;
  return addr;
}

// Every accepted connection's address is written out once (logs, access
// records); for IPv4, to_chars does it without inet_ntop's sprintf.
std::string IpAddress::with_port(std::uint16_t port) const {
  if (!v4) return "[" + to_string() + "]:" + std::to_string(port);
  char buf[sizeof "255.255.255.255:65535"];
  char* at = buf;
  for (int i = 12; i < 16; ++i) {
    const unsigned b = bytes[static_cast<std::size_t>(i)];
    if (b >= 100) *at++ = static_cast<char>('0' + b / 100);
    if (b >= 10) *at++ = static_cast<char>('0' + b / 10 % 10);
    *at++ = static_cast<char>('0' + b % 10);
    *at++ = i < 15 ? '.' : ':';
  }
  at = std::to_chars(at, buf + sizeof buf, port).ptr;
  return std::string(buf, at);
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_mapped(bytes)) {
    in_addr a4{};
    std::memcpy(&a4, bytes.data() + 12, 4);
    if (inet_ntop(AF_INET, &a4, buf, sizeof buf) == nullptr) return {};
  } else {
    in6_addr a6{};
    std::memcpy(&a6, bytes.data(), 16);
    if (inet_ntop(AF_INET6, &a6, buf, sizeof buf) == nullptr) return {};
  }
  return buf;
}

}  // namespace snigate
