#include <fmt/format.h>

#include "acme/explain.hpp"
#include "acme/issued.hpp"
#include "explain/steps.hpp"

namespace snigate::explain {
namespace {

// Where the effective priority came from: a catch-all sinking below
// everything is the usual surprise for a Traefik user.
std::string priority_from(const session::Route& r) {
  switch (r.priority_from) {
    case session::PriorityFrom::set: return "set";
    case session::PriorityFrom::catch_all: return "default for HostSNI(`*`)";
    case session::PriorityFrom::rule_length: break;
  }
  return "rule length";
}

RouterVerdict verdict_of(const session::Route& r) {
  RouterVerdict v;
  v.name = r.name;
  v.rule = r.rule.text;
  v.priority = r.priority;
  v.priority_from = priority_from(r);
  return v;
}

Certificate certificate_for(const session::Snapshot& snap, const session::Route& r, const std::string& sni) {
  auto choice = snap.certs.select(sni);
  Certificate c;
  std::shared_ptr<const tls::Cert> issued;
  if (choice.how == tls::CertMatch::fallback && (issued = acme::issued().find(sni)))
    choice = {issued.get(), tls::CertMatch::exact};
  if (!r.cert_resolver.empty()) {
    // The running gateway's, or from the command line what storage holds.
    acme::NameReport report = acme::explain_name(snap.stat.acme.at(r.cert_resolver), sni);
    c.acme = std::move(report.text);
    if (choice.how == tls::CertMatch::fallback && report.cert) {
      issued = std::move(report.cert);
      choice = {issued.get(), tls::CertMatch::exact};
    }
    if (choice.how == tls::CertMatch::fallback && report.unknown) {
      c.origin = fmt::format("ACME resolver {} if the fleet holds one in etcd, else the default ({})", r.cert_resolver,
                             choice.cert->origin);
      c.how = "unknown";
      return c;
    }
  }
  c.origin = choice.cert->origin;
  c.how = choice.how == tls::CertMatch::exact      ? "exact"
          : choice.how == tls::CertMatch::wildcard ? "wildcard"
                                                   : "default";
  c.refused_by_sni_strict = r.options->sni_strict && choice.how == tls::CertMatch::fallback;
  return c;
}

}  // namespace

RouterVerdict chosen_verdict(const session::Snapshot& snap, const session::Route& r, const std::string& sni) {
  RouterVerdict v = verdict_of(r);
  v.chosen = true;
  v.service = r.service->name;
  v.mode = !r.tls ? Mode::plain : r.passthrough ? Mode::passthrough : Mode::terminate;
  if (v.mode == Mode::terminate) v.certificate = certificate_for(snap, r, sni);
  return v;
}

RouterVerdict missed_verdict(const session::Route& r, const Facts& facts, const session::Route* chosen) {
  RouterVerdict v = verdict_of(r);
  v.why_not = r.tls != facts.tls ? (r.tls ? "is for TLS clients" : "is for plain (non-TLS) clients")
                                 : rule::explain_mismatch(r.rule, facts);
  if (v.why_not.empty())
    v.why_not = "would match, but router " + (chosen ? chosen->name : std::string("?")) + " comes first";
  return v;
}

}  // namespace snigate::explain
