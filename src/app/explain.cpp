#include "app/explain.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "balance/health_report.hpp"
#include "session/login_name.hpp"
#include "session/no_route.hpp"
#include "wire/postgres.hpp"

namespace snigate::app {
namespace {

std::string lower(std::string_view in) {
  std::string s(in);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The effective priority and where it came from: a catch-all sinking below
// everything is the usual surprise for a Traefik user.
std::string priority_text(const session::Route& r) {
  switch (r.priority_from) {
    case session::PriorityFrom::set: return fmt::format("{} (set)", r.priority);
    case session::PriorityFrom::catch_all: return fmt::format("{} (default for HostSNI(`*`))", r.priority);
    case session::PriorityFrom::rule_length: break;
  }
  return fmt::format("{} (rule length)", r.priority);
}

std::string entry_point_names(const session::Snapshot& snap) {
  std::string known;
  for (const auto& [name, e] : snap.entries) known += (known.empty() ? "" : ", ") + name;
  return known;
}

// The entry point the query names, or the only one there is; nullptr after
// saying why there is none.
const session::EntryRoutes* pick_entry(const session::Snapshot& snap, const ExplainQuery& q, std::ostream& out) {
  const bool only_one = q.entry_point.empty() && snap.entries.size() == 1;
  const session::EntryRoutes* entry = only_one ? &snap.entries.begin()->second : snap.entry(q.entry_point);
  if (!entry && q.entry_point.empty())
    fmt::print(out, "--entrypoint is needed: this configuration has {} entry points ({})\n", snap.entries.size(),
               entry_point_names(snap));
  else if (!entry)
    fmt::print(out, "no entry point named \"{}\" (entry points: {})\n", q.entry_point, entry_point_names(snap));
  return entry;
}

// On a MySQL or PostgreSQL entry point the name is the SNI or the @host part
// of the user name. Sets sni to the name routed by and note to where it came
// from; false after printing why --user does not apply.
bool name_from_user(const session::EntryRoutes& entry, const ExplainQuery& q, std::string& sni, std::string& note,
                    std::ostream& out) {
  if (q.user.empty()) return true;
  if (entry.ep.protocol != config::Protocol::mysql && entry.ep.protocol != config::Protocol::postgres) {
    fmt::print(out, "--user: entry point {} has protocol tcp; user@host routing is for protocol mysql or postgres\n",
               entry.ep.name);
    return false;
  }
  const wire::postgres::UserHost uh = wire::postgres::user_at_host(q.user);
  if (uh.host.empty()) note = fmt::format("user \"{}\" has no @host part", q.user);
  else if (!session::routes_by_user_host(sni, uh.host))
    note = fmt::format("the SNI names the route; the @host of \"{}\" is not used", q.user);
  else {
    note = fmt::format("the name comes from user \"{}\": \"{}\"; the server sees user \"{}\"", q.user, lower(uh.host),
                       uh.user);
    sni = lower(uh.host);
  }
  return true;
}

// The facts a client with the query's properties presents; false after
// printing what in the query cannot be. A plain client on a database entry
// point is one that logs in without TLS to a router that terminates (and on
// such an entry point --sni with --plain stands for the name a plaintext
// login gives as user@host, as --user does).
bool client_facts(const ExplainQuery& q, bool database, const std::string& sni, Facts& facts, std::ostream& out) {
  if (q.plain && !database && (!q.sni.empty() || !q.alpn.empty())) {
    fmt::print(out, "--plain: a client that does not start TLS sends no SNI or ALPN; leave out --sni and --alpn\n");
    return false;
  }
  facts.tls = !q.plain || database;
  facts.sni = sni;
  facts.alpn = q.alpn;
  if (!q.client_ip.empty()) {
    facts.client_ip = IpAddress::parse(q.client_ip);
    if (!facts.client_ip) {
      fmt::print(out, "--client-ip: \"{}\" is not an IP address\n", q.client_ip);
      return false;
    }
  }
  return true;
}

void print_client(const session::EntryRoutes& entry, const ExplainQuery& q, const std::string& sni,
                  const std::string& name_note, std::ostream& out) {
  const bool mysql = entry.ep.protocol == config::Protocol::mysql;
  const bool postgres = entry.ep.protocol == config::Protocol::postgres;
  const std::string alpn = session::comma_joined(q.alpn);
  fmt::print(out, "entry point {} ({}): {} client, SNI {}, ALPN [{}], client IP {}\n", entry.ep.name,
             entry.ep.address, q.plain ? "plain" : "TLS", sni.empty() ? "none" : "\"" + sni + "\"", alpn,
             q.client_ip.empty() ? "any" : q.client_ip);
  if (mysql || postgres)
    fmt::print(out, "{} entry point: the name is the client's SNI, or else the host of a user name user@host{}\n",
               mysql ? "MySQL" : "PostgreSQL", name_note.empty() ? "" : " (" + name_note + ")");
  if (entry.server_first)
    fmt::print(out, "every router here is a plain HostSNI(`*`): nothing is read, so every client (a TLS one too) "
                    "goes to the first of them and its backend is connected as soon as the client arrives\n");
}

// The chosen router, with the certificate a terminating one would present.
void print_match(const session::Snapshot& snap, const session::Route& r, const std::string& sni, std::ostream& out) {
  const std::string mode = !r.tls ? "plain TCP" : r.passthrough ? "TLS passthrough" : "TLS termination";
  std::string cert;
  if (r.tls && !r.passthrough) {
    const auto choice = snap.certs.select(sni);
    const char* how = choice.how == tls::CertMatch::exact ? "exact" : choice.how == tls::CertMatch::wildcard ? "wildcard" : "default";
    cert = r.options->sni_strict && choice.how == tls::CertMatch::fallback
               ? "; REFUSED by sniStrict: no certificate names this SNI"
               : fmt::format("; certificate {} ({} match)", choice.cert->origin, how);
  }
  fmt::print(out, "match: {}  rule {}  priority {}  -> service {} ({}{})\n", r.name, r.rule.text, priority_text(r),
             r.service->name, mode, cert);
}

// A router that does not take the client, and why.
void print_miss(const session::Route& r, const Facts& facts, const session::Route* chosen, std::ostream& out) {
  std::string why = r.tls != facts.tls ? (r.tls ? "is for TLS clients" : "is for plain (non-TLS) clients")
                                       : rule::explain_mismatch(r.rule, facts);
  if (why.empty()) why = "would match, but router " + (chosen ? chosen->name : std::string("?")) + " comes first";
  fmt::print(out, "  no: {}  rule {}  priority {}: {}\n", r.name, r.rule.text, priority_text(r), why);
}

// The server the chosen router's service would take next, and why: each
// server's health (explain runs no probe, so a check shows "not checked
// yet"; a running snigate has the checks' verdicts) and each weighted
// child's weight.
void print_service_choice(const session::Route& r, std::ostream& out) {
  if (r.service) out << balance::explain_choice(*r.service, balance::steady_now());
}

// 0 when the chosen router takes the client, 1 when none does or it
// refuses a plaintext login.
int verdict(const session::EntryRoutes& entry, const ExplainQuery& q, const Facts& facts,
            const session::Route* chosen, std::ostream& out) {
  const bool mysql = entry.ep.protocol == config::Protocol::mysql;
  const bool postgres = entry.ep.protocol == config::Protocol::postgres;
  if (chosen && q.plain && (mysql || postgres) && !(mysql ? chosen->allow_plaintext : chosen->pg_allow_plaintext)) {
    fmt::print(out, "REFUSED: router {} requires TLS ({}.allowPlaintext is not set)\n", chosen->name,
               mysql ? "mysql" : "postgres");
    return 1;
  }
  if (!chosen) {
    fmt::print(out, "no router matches: {}\n", session::explain_no_route(entry, facts));
    return 1;
  }
  return 0;
}

// "1 range", "2 ranges": a count with its noun in the number it takes.
std::string counted(long n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// The chosen router's middlewares in order. With --client-ip, whether each
// ipAllowList lets the client through; counts and rates depend on the
// traffic, so they are only described. False when the chain refuses the
// client whatever the traffic (an allow list without it, amount 0).
bool print_middlewares(const session::Route& r, const Facts& facts, std::ostream& out) {
  if (r.middlewares.empty()) return true;
  fmt::print(out, "middlewares of {}, in order:\n", r.name);
  const policy::Middleware* refused = nullptr;
  for (const policy::Middleware* m : r.middlewares) {
    std::string what;
    switch (m->kind) {
      case policy::Kind::ip_allow_list: {
        if (!facts.client_ip) {
          what = counted(static_cast<long>(m->ranges.size()), "range", "ranges") +
                 "; give --client-ip to check a client";
          break;
        }
        const bool in = policy::allows(m->ranges, *facts.client_ip);
        what = fmt::format("{} {}", facts.client_ip->to_string(), in ? "is allowed" : "is NOT in the list");
        if (!in && !refused) refused = m;
        break;
      }
      case policy::Kind::in_flight_conn:
        what = m->amount == 0
                   ? "amount 0: refuses every client"
                   : "at most " + counted(m->amount, "open connection", "open connections") + " per client IP";
        if (m->amount == 0 && !refused) refused = m;
        break;
      case policy::Kind::rate_limit:
        what = m->rate.average == 0 ? "average 0: no limit"
                                    : fmt::format("{} per {} ms per client IP, burst {}",
                                                  counted(m->rate.average, "new connection", "new connections"),
                                                  m->rate.period.count(), m->rate.burst);
        break;
    }
    fmt::print(out, "  {} ({}): {}\n", m->name, policy::kind_name(m->kind), what);
  }
  if (refused)
    fmt::print(out, "REFUSED: router {}: middleware {} ({}) {}\n", r.name, refused->name,
               policy::kind_name(refused->kind),
               refused->kind == policy::Kind::ip_allow_list ? "does not allow " + facts.client_ip->to_string()
                                                            : std::string("refuses every client"));
  return !refused;
}

}  // namespace

int explain(const session::Snapshot& snap, const ExplainQuery& q, std::ostream& out) {
  const session::EntryRoutes* entry = pick_entry(snap, q, out);
  if (!entry) return 2;
  std::string sni = lower(q.sni);
  std::string name_note;
  if (!name_from_user(*entry, q, sni, name_note, out)) return 2;
  const bool database =
      entry->ep.protocol == config::Protocol::mysql || entry->ep.protocol == config::Protocol::postgres;
  Facts facts;
  if (!client_facts(q, database, sni, facts, out)) return 2;
  // The running gateway reads nothing there, so it sees every client as plain.
  if (entry->server_first) facts.tls = false;
  print_client(*entry, q, sni, name_note, out);

  const session::Route* chosen = session::match(*entry, facts);
  for (const session::Route& r : entry->routes) {
    if (&r == chosen) print_match(snap, r, sni, out);
    else print_miss(r, facts, chosen, out);
  }
  if (chosen && !print_middlewares(*chosen, facts, out)) return 1;
  if (chosen) print_service_choice(*chosen, out);
  return verdict(*entry, q, facts, chosen, out);
}

}  // namespace snigate::app
