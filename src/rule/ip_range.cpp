#include "rule/ip_range.hpp"

#include <algorithm>

namespace snigate::rule {
namespace {

bool is_mapped(const IpAddress& a) {
  return std::all_of(a.bytes.begin(), a.bytes.begin() + 10, [](std::uint8_t b) { return b == 0; }) &&
         a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

bool prefix_equal(const IpAddress& a, const IpAddress& b, unsigned bits) {
  const unsigned whole = bits / 8;
  if (!std::equal(a.bytes.begin(), a.bytes.begin() + whole, b.bytes.begin())) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

void clear_host_bits(IpAddress& a, unsigned bits) {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned keep = bits > i * 8 ? std::min(8u, bits - i * 8) : 0;
    a.bytes[i] &= static_cast<std::uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
}

}  // namespace

std::variant<IpRange, std::string> parse_ip_range(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string_view addr_text = text.substr(0, slash);
  auto addr = IpAddress::parse(addr_text);
  if (!addr) {
    if (addr_text.find('%') != std::string_view::npos) {
      return std::string("`") + std::string(text) + "` has an IPv6 zone; ClientIP takes addresses without a zone";
    }
    return std::string("`") + std::string(text) + "` is not an IP address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)";
  }
  // Written with ':' means IPv6 semantics, even for ::ffff:a.b.c.d/n, except
  // that a block inside the mapped space is the IPv4 block it spells.
  const bool written_v6 = addr_text.find(':') != std::string_view::npos;
  const unsigned max_bits = written_v6 ? 128 : 32;
  unsigned bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::string("`") + std::string(text) + "`: the prefix length after `/` must be a number";
    }
    bits = 0;
    for (char c : digits) bits = bits * 10 + static_cast<unsigned>(c - '0');
    if (bits > max_bits) {
      return std::string("`") + std::string(text) + "`: prefix length " + std::to_string(bits) + " is longer than " +
             std::to_string(max_bits) + " bits";
    }
  }
  IpRange range;
  range.base = *addr;
  if (!written_v6) {
    range.bits = 96 + bits;
    range.v4 = true;
  } else {
    range.bits = bits;
    range.v4 = bits >= 96 && is_mapped(*addr);
  }
  clear_host_bits(range.base, range.bits);
  return range;
}

bool contains(const IpRange& range, const IpAddress& addr) {
  if (range.v4 != is_mapped(addr)) return false;
  return prefix_equal(range.base, addr, range.bits);
}

}  // namespace snigate::rule
