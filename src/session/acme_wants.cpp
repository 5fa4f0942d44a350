// Which certificates the routers want from ACME resolvers: Traefik's rule,
// tls.domains when given, else one certificate for the rule's HostSNI names.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "rule/sni_keys.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {

namespace {

std::string lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

void resolve_cert_names(const config::Router& r, const std::string& path, Route& route,
                        std::vector<config::Error>& errors) {
  if (!r.tls || r.tls->cert_resolver.empty() || r.tls->passthrough) return;
  route.cert_resolver = r.tls->cert_resolver;
  for (const config::CertDomain& d : r.tls->domains) {
    std::vector<std::string> names{lower(d.main)};
    for (const auto& s : d.sans)
      if (std::ranges::find(names, lower(s)) == names.end()) names.push_back(lower(s));
    route.cert_names.push_back(std::move(names));
  }
  if (!route.cert_names.empty()) return;
  const auto keys = rule::sni_keys(route.rule);
  const char* why = !keys                     ? "it matches clients whatever name they send"
                    : !keys->suffixes.empty() ? "a wildcard name needs the DNS-01 challenge, which snigate does not do"
                    : !keys->regexps.empty()  ? "HostSNIRegexp names no host to order for"
                    : keys->exact.empty()     ? "it names no host"
                                              : nullptr;
  if (why) {
    errors.push_back(config::Error{r.tls->cert_resolver_loc, path + ".tls.certResolver",
                                   fmt::format("no names to order a certificate for from the rule `{}`: {}; list the "
                                               "exact host names in tls.domains, or give the certificate in "
                                               "tls.certificates",
                                               r.rule, why)});
    return;
  }
  std::vector<std::string> names;
  for (std::string_view n : keys->exact)
    if (std::ranges::find(names, n) == names.end()) names.emplace_back(n);
  route.cert_names.push_back(std::move(names));
}

std::vector<acme::Wanted> acme_wants(const Snapshot& snap) {
  std::vector<acme::Wanted> out;
  std::set<std::pair<std::string, std::vector<std::string>>> seen;
  auto covered = [&](const std::vector<std::string>& names) {
    return std::ranges::all_of(names, [&](const std::string& n) {
      return snap.certs.select(n).how != tls::CertMatch::fallback;
    });
  };
  for (const auto& [ep, entry] : snap.entries)
    for (const Route& r : entry.routes)
      for (const auto& names : r.cert_names)
        if (!covered(names) && seen.emplace(r.cert_resolver, names).second)
          out.push_back(acme::Wanted{r.cert_resolver, names, r.name});
  return out;
}

}  // namespace snigate::session
