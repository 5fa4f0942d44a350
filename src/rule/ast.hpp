#pragma once
// The compiled form of a rule. One flat struct per node keeps the tree easy to
// walk and to destroy; `&&` and `||` chains are n-ary, so the tree is only as
// deep as the rule's nesting of parentheses and `!` (bounded by the parser).
#include <memory>
#include <string>
#include <vector>

#include "rule/facts.hpp"
#include "rule/rule.hpp"
#include "rule/sni_regexp.hpp"

namespace snigate::rule {

enum class Kind { kOr, kAnd, kNot, kHostSni, kHostSniRegexp, kClientIp, kAlpn };

// One argument of ClientIP. IPv4 ranges are kept in IPv4-mapped form, so a
// range is always "the first `bits` bits of `base`" over 16 bytes.
struct IpRange {
  IpAddress base;  // host bits cleared
  unsigned bits = 0;
  bool v4 = false;  // serves IPv4 clients (only), else IPv6 clients (only)
};

struct Node {
  Kind kind = Kind::kHostSni;
  std::string text;                 // the source as written, quoted in messages
  std::vector<Node> children;       // kOr, kAnd: two or more; kNot: exactly one
  std::vector<std::string> args;    // kHostSni: lowercase names, "*" or "*.suffix"; kAlpn: protocols
  std::vector<IpRange> ranges;      // kClientIp
  std::shared_ptr<const SniRegexp> regex;  // kHostSniRegexp
};

}  // namespace snigate::rule
