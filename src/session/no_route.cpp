#include "session/no_route.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace snigate::session {

std::string comma_joined(std::span<const std::string> names) {
  std::size_t size = names.empty() ? 0 : names.size() - 1;
  for (const std::string& n : names) size += n.size();
  std::string out;
  out.reserve(size);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
  }
  return out;
}

namespace {

// What a client of this protocol can do to name the server it wants.
std::string_view no_name_hint(config::Protocol protocol, bool tls) {
  // A mail client that never started TLS sent no name to give.
  if (!tls && (config::is_mail(protocol) || protocol == config::Protocol::xmpp)) return {};
  switch (protocol) {
    case config::Protocol::mysql:
      return "; the client sent no SNI and no user@host: log in as user@NAME (mariadb -u alice@NAME), or send SNI "
             "(MySQL 8.1+ clients --tls-sni-servername=NAME; PyMySQL and mysql2 send the host name)";
    case config::Protocol::postgres:
      return "; the client sent no SNI and no user@host: log in as user@NAME (psql \"user=alice@NAME ...\"), or send "
             "SNI (libpq sends the host name when it is a name, not an IP address, and sslsni is not 0)";
    case config::Protocol::smtp:
      return "; the client sent no SNI after STARTTLS: make it send one (swaks --tls-sni NAME, openssl s_client "
             "-starttls smtp -servername NAME; curl and Python's smtplib send the host name they connect to)";
    case config::Protocol::imap:
      return "; the client sent no SNI after STARTTLS: make it send one (openssl s_client -starttls imap "
             "-servername NAME; curl and Python's imaplib send the host name they connect to)";
    case config::Protocol::pop3:
      return "; the client sent no SNI after STLS: make it send one (openssl s_client -starttls pop3 "
             "-servername NAME; curl and Python's poplib send the host name they connect to)";
    case config::Protocol::xmpp:
      return "; the client sent no SNI and its stream header no to=: make it name its domain (openssl s_client "
             "-starttls xmpp -xmpphost NAME -servername NAME)";
    case config::Protocol::tcp: break;
  }
  if (!tls) return {};
  return "; the client sent no SNI, and routers here route by name: make it send one "
         "(openssl s_client -servername NAME, redis-cli --tls --sni NAME, curl with the name in the URL)";
}

// Past this many routers the explanation names only those the route index
// could not rule out for the client: a line per router of 100,000 would
// cost every refused client a walk and the log megabytes.
constexpr std::size_t kNameEveryRouterUpTo = 20;

// Positions of the routes the explanation names, ascending.
std::vector<std::uint32_t> routes_to_name(const EntryRoutes& entry, const Facts& facts) {
  std::vector<std::uint32_t> out;
  if (entry.routes.size() <= kNameEveryRouterUpTo || !entry.index.built) {
    for (std::size_t p = 0; p < entry.routes.size(); ++p) out.push_back(static_cast<std::uint32_t>(p));
    return out;
  }
  Candidates c = candidates(entry.index, facts);
  out = std::move(c.by_name);
  out.insert(out.end(), c.rest.begin(), c.rest.end());
  std::ranges::sort(out);
  return out;
}

}  // namespace

std::string explain_no_route(const EntryRoutes& entry, const Facts& facts) {
  const std::string alpn = comma_joined(facts.alpn);
  std::string out =
      fmt::format("no route on entry point {} for {} client{}", entry.ep.name, facts.tls ? "TLS" : "plain",
                  facts.client_ip ? fmt::format(" {}", facts.client_ip->to_string()) : "");
  if (facts.tls)
    out += fmt::format(", SNI {}, ALPN [{}]", facts.sni.empty() ? "none" : fmt::format("\"{}\"", facts.sni), alpn);
  if (entry.routes.empty()) return out + "; this entry point has no routers";

  bool by_name = false;
  for (const Route& r : entry.routes) by_name |= r.tls && rule::needs_sni(r.rule);
  const std::vector<std::uint32_t> named = routes_to_name(entry, facts);
  for (std::uint32_t p : named) {
    const Route& r = entry.routes[p];
    std::string why = r.tls != facts.tls ? (r.tls ? "is for TLS clients" : "is for plain (non-TLS) clients")
                                         : rule::explain_mismatch(r.rule, facts);
    out += fmt::format("; router {} ({}): {}", r.name, r.rule.text, why);
  }
  if (named.size() < entry.routes.size())
    out += fmt::format("; {} other router(s) cannot take it: they are for {} clients, or their names rule out {}",
                       entry.routes.size() - named.size(), facts.tls ? "plain" : "TLS",
                       facts.sni.empty() ? "a client without SNI" : fmt::format("SNI \"{}\"", facts.sni));
  const config::Protocol protocol = entry.ep.protocol;
  if (facts.sni.empty() && by_name) out += no_name_hint(protocol, facts.tls);
  if (!facts.tls && !entry.has_plain_routes && protocol == config::Protocol::tcp)
    out +=
        "; the client did not start TLS and no router here accepts plain TCP (add a router without tls, "
        "rule HostSNI(`*`))";
  return out;
}

namespace {

bool speaks_database(const EntryRoutes& entry) {
  return entry.ep.protocol == config::Protocol::mysql || entry.ep.protocol == config::Protocol::postgres;
}

// A mail client shows one reply to its user: the name asked for and what to
// do, not a line per router (the log has those).
Refusal mail_no_route(const EntryRoutes& entry, const Facts& facts, bool from_user, Refusal r) {
  if (!facts.tls) {
    r.message = r.detail;
    return r;
  }
  if (facts.sni.empty()) {
    r.message = entry.ep.protocol == config::Protocol::xmpp
                    ? fmt::format("the client sent no SNI and no stream to=, so entry point {} cannot choose a server",
                                  entry.ep.name)
                    : fmt::format("the client sent no SNI after {}, so entry point {} cannot choose a server",
                                  entry.ep.protocol == config::Protocol::pop3 ? "STLS" : "STARTTLS", entry.ep.name);
    const std::string_view hint = no_name_hint(entry.ep.protocol, true);  // "; why: what to do"
    r.hint = std::string(hint.substr(hint.find(": ") + 2));
    return r;
  }
  const bool xmpp = entry.ep.protocol == config::Protocol::xmpp;
  r.message = fmt::format("no route on entry point {} for \"{}\" (from the {})", entry.ep.name, facts.sni,
                          !from_user ? "client's SNI" : xmpp ? "to= of the client's stream" : "domain of the client's login");
  r.hint = "check the name";
  return r;
}

// How this protocol's clients send the name a router wants.
std::string_view sni_hint(config::Protocol protocol) {
  switch (protocol) {
    case config::Protocol::mysql:
      return "send the server's name as SNI (mysql 8.1+ --tls-sni-servername=NAME; PyMySQL and mysql2 send the host "
             "name they connect to)";
    case config::Protocol::postgres:
      return "connect to the server's host name with sslsni=1 (the default of libpq 14+)";
    case config::Protocol::smtp:
    case config::Protocol::imap:
    case config::Protocol::pop3:
    case config::Protocol::xmpp:
    case config::Protocol::tcp: break;
  }
  return "send the server's name as SNI";
}

}  // namespace

Refusal no_route_refusal(const EntryRoutes& entry, const Facts& facts, bool from_user) {
  Refusal r(Cause::unknown_name, "no_route", "");
  r.detail = explain_no_route(entry, facts);
  if (config::is_mail(entry.ep.protocol) || entry.ep.protocol == config::Protocol::xmpp)
    return mail_no_route(entry, facts, from_user, std::move(r));
  if (!speaks_database(entry)) {
    r.message = r.detail;
    return r;
  }
  const bool mysql = entry.ep.protocol == config::Protocol::mysql;
  if (facts.sni.empty()) {
    r.message = fmt::format(
        "the client sent neither SNI nor a user name of the form user@host, so entry point {} "
        "cannot choose a server",
        entry.ep.name);
    r.hint = mysql ? "log in as user@<server name> (e.g. -u alice@db.example.com), or with a MySQL 8.1+ client pass "
                     "--tls-sni-servername=<server name>"
                   : "connect with TLS to a host name (libpq 14+ sends it as SNI: sslmode=require, sslsni=1), or log "
                     "in as user@<server name>";
    return r;
  }
  r.message = fmt::format("no route on entry point {} for \"{}\" (from the {})", entry.ep.name, facts.sni,
                          from_user ? "user name's @host part" : "client's SNI");
  r.hint = "check the name";
  return r;
}

Refusal passthrough_refusal(const EntryRoutes& entry, const Route& r) {
  return {Cause::unknown_name, "no_route",
          fmt::format("router {} passes TLS through to its server, but this client sent no SNI, so snigate "
                      "had to end TLS itself to read {}",
                      r.name, config::is_mail(entry.ep.protocol) ? "the login" : "user@host"),
          std::string(sni_hint(entry.ep.protocol))};
}

Refusal options_refusal(const EntryRoutes& entry, const Route& r, std::string why) {
  return {Cause::denied, "tls_options_mismatch", std::move(why),
          fmt::format("{}, or give router {} the tls.options that clients without SNI get", sni_hint(entry.ep.protocol),
                      r.name)};
}

Refusal plaintext_refusal(const EntryRoutes& entry, const Route& r) {
  const bool mysql = entry.ep.protocol == config::Protocol::mysql;
  return {Cause::denied, "plaintext_refused",
          fmt::format("router {} requires TLS; the router does not set {}.allowPlaintext", r.name,
                      mysql ? "mysql" : "postgres"),
          mysql ? "connect with TLS (mariadb --ssl, mysql --ssl-mode=REQUIRED)"
                : "connect with sslmode=require (or verify-full)"};
}

}  // namespace snigate::session
