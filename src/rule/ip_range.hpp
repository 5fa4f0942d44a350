#pragma once
// ClientIP arguments: an address or a CIDR block, either family.
#include <string>
#include <string_view>
#include <variant>

#include "rule/ast.hpp"

namespace snigate::rule {

// The range, or why the text is not one.
std::variant<IpRange, std::string> parse_ip_range(std::string_view text);

// IPv4 ranges serve IPv4 clients (also when seen as ::ffff:a.b.c.d), IPv6
// ranges serve IPv6 clients: `::/0` is "every IPv6 client", as in Go's net.IPNet.
bool contains(const IpRange& range, const IpAddress& addr);

}  // namespace snigate::rule
