#include "explain/text.hpp"

#include <fmt/format.h>

#include "session/no_route.hpp"

namespace snigate::explain {
namespace {

void client_lines(const Client& c, std::string& out) {
  const bool mysql = c.protocol == config::Protocol::mysql;
  const bool postgres = c.protocol == config::Protocol::postgres;
  out += fmt::format("entry point {} ({}): {} client, SNI {}, ALPN [{}], client IP {}\n", c.entry_point, c.address,
                     c.plain ? "plain" : "TLS", c.sni.empty() ? "none" : "\"" + c.sni + "\"",
                     session::comma_joined(c.alpn), c.client_ip.empty() ? "any" : c.client_ip);
  if (mysql || postgres)
    out += fmt::format("{} entry point: the name is the client's SNI, or else the host of a user name user@host{}\n",
                       mysql ? "MySQL" : "PostgreSQL", c.name_note.empty() ? "" : " (" + c.name_note + ")");
  if (config::is_mail(c.protocol))
    out += fmt::format("{} entry point: snigate greets the client and takes its {}; the name is the SNI of the TLS "
                       "that follows (or, without SNI, the domain of the login), and a plain client is one that logs "
                       "in without TLS{}\n",
                       config::protocol_name(c.protocol), c.protocol == config::Protocol::pop3 ? "STLS" : "STARTTLS",
                       c.name_note.empty() ? "" : " (" + c.name_note + ")");
  if (c.server_first)
    out += "every router here is a plain HostSNI(`*`): nothing is read, so every client (a TLS one too) "
           "goes to the first of them and its backend is connected as soon as the client arrives\n";
}

void router_line(const RouterVerdict& v, std::string& out) {
  const std::string priority = fmt::format("{} ({})", v.priority, v.priority_from);
  if (!v.chosen) {
    out += fmt::format("  no: {}  rule {}  priority {}: {}\n", v.name, v.rule, priority, v.why_not);
    return;
  }
  const std::string mode = v.mode == Mode::plain         ? "plain TCP"
                           : v.mode == Mode::passthrough ? "TLS passthrough"
                                                         : "TLS termination";
  std::string cert;
  if (v.certificate)
    cert = v.certificate->refused_by_sni_strict
               ? "; REFUSED by sniStrict: no certificate names this SNI"
               : v.certificate->how == "unknown"
                   ? fmt::format("; certificate {}", v.certificate->origin)
                   : fmt::format("; certificate {} ({} match)", v.certificate->origin, v.certificate->how);
  out += fmt::format("match: {}  rule {}  priority {}  -> service {} ({}{})\n", v.name, v.rule, priority, v.service,
                     mode, cert);
  if (v.certificate && !v.certificate->acme.empty()) out += fmt::format("acme: {}\n", v.certificate->acme);
}

void middleware_lines(const Result& r, std::string& out) {
  if (r.middlewares.empty()) return;
  out += fmt::format("middlewares of {}, in order:\n", r.chosen()->name);
  for (const MiddlewareCheck& m : r.middlewares) out += fmt::format("  {} ({}): {}\n", m.name, m.kind, m.what);
}

}  // namespace

std::string to_text(const Result& r) {
  if (r.outcome == Outcome::bad_query) return r.error + "\n";
  std::string out;
  client_lines(r.client, out);
  for (const RouterVerdict& v : r.routers) router_line(v, out);
  for (const Unlisted& u : r.unlisted) out += "  no: " + describe(u, r.client.sni) + "\n";
  if (!r.unlisted.empty())
    out += fmt::format("  ({} routers in all; --all lists every one)\n", with_commas(r.router_count));
  middleware_lines(r, out);
  out += r.service_choice;
  switch (r.outcome) {
    case Outcome::refused_by_middleware:
    case Outcome::refused_plaintext: out += "REFUSED: " + r.refusal + "\n"; break;
    case Outcome::no_match: out += "no router matches: " + r.refusal + "\n"; break;
    default: break;
  }
  return out;
}

}  // namespace snigate::explain
