#pragma once
// What a rule requires of the client's server name, for an index that finds
// the few rules a name can match without trying every one.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rule/rule.hpp"

namespace snigate::rule {

class SniRegexp;

// A necessary condition: the rule matches only clients whose name (as
// sni_lookup_key gives it) is one of `exact`, or is one label followed by a
// dot and one of `suffixes` (the rule's `*.suffix` patterns), or whose name
// (as Facts has it, not empty) one of `regexps` matches (the rule's
// HostSNIRegexp patterns). The views and pointers point into the rule's
// compiled tree and stay valid while any copy of it lives.
struct SniKeys {
  std::vector<std::string_view> exact;
  std::vector<std::string_view> suffixes;
  std::vector<const SniRegexp*> regexps;
};

// Nullopt when the rule can match a client without its name being one of a
// known set or matching a known regex: HostSNI(`*`), ClientIP or ALPN alone,
// `!`, or an `||` with such a branch. In an `&&` any one part's condition is
// necessary, and the most selective is kept.
std::optional<SniKeys> sni_keys(const Rule& rule);

// The client's name as host_matches compares it: one trailing dot dropped,
// ASCII lower case. `buffer` holds the result only when the name has a
// capital, so the common case copies nothing.
std::string_view sni_lookup_key(std::string_view sni, std::string& buffer);

// The suffix a `*.suffix` pattern must equal to match `key`: what follows its
// first label. Empty when the key has no dot or starts with one.
std::string_view wildcard_suffix_of(std::string_view key);

}  // namespace snigate::rule
