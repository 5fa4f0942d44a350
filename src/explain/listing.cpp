// Which routers explain lists one by one, and how it counts the others: at
// 100,000 routers a line each would bury the few that matter.
#include <fmt/format.h>

#include "explain/steps.hpp"
#include "rule/sni_keys.hpp"
#include "session/route_index.hpp"

namespace snigate::explain {
namespace {

// "HostSNI names", "HostSNI names and HostSNIRegexp patterns", ...
std::string conditions_of(const rule::SniKeys& keys) {
  std::vector<std::string_view> parts;
  if (!keys.exact.empty()) parts.emplace_back("HostSNI names");
  if (!keys.suffixes.empty()) parts.emplace_back("HostSNI wildcards");
  if (!keys.regexps.empty()) parts.emplace_back("HostSNIRegexp patterns");
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i)
    out += std::string(i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + std::string(parts[i]);
  return out;
}

}  // namespace

std::string with_commas(std::size_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::vector<bool> listed_routes(const session::EntryRoutes& entry, const Facts& facts, bool all) {
  const bool every = all || entry.routes.size() <= kListEveryRouterUpTo || !entry.index.built;
  std::vector<bool> listed(entry.routes.size(), every);
  if (every) return listed;
  const session::Candidates c = session::candidates(entry.index, facts);
  for (std::uint32_t p : c.by_name) listed[p] = true;
  for (std::uint32_t p : c.rest) listed[p] = true;
  return listed;
}

// A router the index ruled out: of the other kind, or its name condition
// (which sni_keys gives, as the index filed it) rejects the client's name.
void count_unlisted(const session::Route& r, const Facts& facts, std::vector<Unlisted>& out) {
  Unlisted u;
  u.tls = r.tls;
  if (r.tls != facts.tls) {
    u.why = Unlisted::Why::other_kind;
  } else if (facts.sni.empty()) {
    u.why = Unlisted::Why::no_name;
  } else {
    const auto keys = rule::sni_keys(r.rule);
    u.conditions = keys ? conditions_of(*keys) : "rules";
  }
  for (Unlisted& seen : out)
    if (seen.why == u.why && seen.tls == u.tls && seen.conditions == u.conditions) {
      ++seen.count;
      return;
    }
  u.count = 1;
  out.push_back(std::move(u));
}

std::string describe(const Unlisted& u, const std::string& sni) {
  const std::string n = with_commas(u.count);
  const bool one = u.count == 1;
  const char* kind = u.tls ? "TLS" : "plain";
  switch (u.why) {
    case Unlisted::Why::other_kind:
      return fmt::format("{} router{} for {} clients", n, one ? "" : "s", u.tls ? "TLS" : "plain (non-TLS)");
    case Unlisted::Why::no_name:
      return fmt::format("{} {} router{} that need{} a server name; the client sent none", n, kind, one ? "" : "s",
                         one ? "s" : "");
    case Unlisted::Why::name_mismatch: break;
  }
  return fmt::format("{} {} router{} whose {} do not match SNI \"{}\"", n, kind, one ? "" : "s", u.conditions, sni);
}

}  // namespace snigate::explain
