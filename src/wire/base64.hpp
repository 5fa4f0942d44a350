#pragma once
// Standard base64 (RFC 4648, with padding): etcd's JSON gateway carries every
// key and value this way, and SASL (SMTP AUTH) every login.
#include <optional>
#include <string>
#include <string_view>

namespace snigate::wire {

std::string base64_encode(std::string_view bytes);
// nullopt on a character outside the alphabet, a bad length or bad padding.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace snigate::wire
