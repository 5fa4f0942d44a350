#include "session/refuse.hpp"

#include <fmt/format.h>

namespace snigate::session {

std::string explain_no_route(const EntryRoutes& entry, const Facts& facts) {
  const std::string alpn = fmt::format("{}", fmt::join(facts.alpn, ","));
  std::string out = fmt::format("no route on entry point {} for {} client{}", entry.ep.name, facts.tls ? "TLS" : "plain",
                                facts.client_ip ? fmt::format(" {}", facts.client_ip->to_string()) : "");
  if (facts.tls)
    out += fmt::format(", SNI {}, ALPN [{}]", facts.sni.empty() ? "none" : fmt::format("\"{}\"", facts.sni), alpn);
  if (entry.routes.empty()) return out + "; this entry point has no routers";

  std::string tried;
  bool by_name = false;
  for (const Route& r : entry.routes) {
    by_name |= r.tls && rule::needs_sni(r.rule);
    std::string why = r.tls != facts.tls ? (r.tls ? "is for TLS clients" : "is for plain (non-TLS) clients")
                                         : rule::explain_mismatch(r.rule, facts);
    tried += fmt::format("; router {} ({}): {}", r.name, r.rule.text, why);
  }
  out += tried;
  if (facts.tls && facts.sni.empty() && by_name)
    out += "; the client sent no SNI, and routers here route by name: make it send one "
           "(openssl s_client -servername NAME, redis-cli --tls --sni NAME, curl with the name in the URL)";
  if (!facts.tls && !entry.has_plain_routes)
    out += "; the client did not start TLS and no router here accepts plain TCP (add a router without tls, "
           "rule HostSNI(`*`))";
  return out;
}

}  // namespace snigate::session
