#include <fmt/format.h>

#include "explain/steps.hpp"
#include "session/conn.hpp"
#include "session/login_name.hpp"
#include "wire/postgres.hpp"

namespace snigate::explain {
namespace {

using session::lower_ascii;

bool is_database(const session::EntryRoutes& entry) {
  return entry.ep.protocol == config::Protocol::mysql || entry.ep.protocol == config::Protocol::postgres;
}

// On a MySQL or PostgreSQL entry point the name is the SNI or the @host part
// of the user name; on a mail entry point, for a client without SNI, the
// domain of its login. Sets sni to the name routed by and note to where it
// came from; false after setting error to why --user does not apply.
bool name_from_user(const session::EntryRoutes& entry, const Query& q, std::string& sni, std::string& note,
                    std::string& error) {
  if (q.user.empty()) return true;
  const bool mail = config::is_mail(entry.ep.protocol);
  if (!is_database(entry) && !mail) {
    error = fmt::format("--user: entry point {} has protocol {}; routing by the user name is for protocol mysql, "
                        "postgres, smtp, imap or pop3",
                        entry.ep.name, config::protocol_name(entry.ep.protocol));
    return false;
  }
  const wire::postgres::UserHost uh = wire::postgres::user_at_host(q.user);
  if (uh.host.empty()) note = fmt::format("user \"{}\" has no @{} part", q.user, mail ? "domain" : "host");
  else if (!session::routes_by_user_host(sni, uh.host))
    note = fmt::format("the SNI names the route; the @{} of \"{}\" is not used", mail ? "domain" : "host", q.user);
  else {
    note = mail ? fmt::format("the client sent no SNI: the name comes from its login \"{}\": \"{}\"; the server "
                              "sees the login as sent",
                              q.user, lower_ascii(uh.host))
                : fmt::format("the name comes from user \"{}\": \"{}\"; the server sees user \"{}\"", q.user,
                              lower_ascii(uh.host), uh.user);
    sni = lower_ascii(uh.host);
  }
  return true;
}

// The facts a client with the query's properties presents; false after
// setting error to what in the query cannot be. A plain client on a database
// entry point is one that logs in without TLS to a router that terminates
// (and on such an entry point --sni with --plain stands for the name a
// plaintext login gives as user@host, as --user does).
bool client_facts(const Query& q, bool database, const std::string& sni, Facts& facts, std::string& error) {
  if (q.plain && !database && (!q.sni.empty() || !q.alpn.empty())) {
    error = "--plain: a client that does not start TLS sends no SNI or ALPN; leave out --sni and --alpn";
    return false;
  }
  facts.tls = !q.plain || database;
  facts.sni = sni;
  facts.alpn = q.alpn;
  if (!q.client_ip.empty()) {
    facts.client_ip = IpAddress::parse(q.client_ip);
    if (!facts.client_ip) {
      error = fmt::format("--client-ip: \"{}\" is not an IP address", q.client_ip);
      return false;
    }
  }
  return true;
}

}  // namespace

bool see_client(const session::EntryRoutes& entry, const Query& q, Client& client, Facts& facts, std::string& error) {
  client.sni = lower_ascii(q.sni);
  if (!name_from_user(entry, q, client.sni, client.name_note, error)) return false;
  if (!client_facts(q, is_database(entry), client.sni, facts, error)) return false;
  // The running gateway reads nothing there, so it sees every client as plain.
  if (entry.server_first) facts.tls = false;
  client.entry_point = entry.ep.name;
  client.address = entry.ep.address;
  client.protocol = entry.ep.protocol;
  client.plain = q.plain;
  client.tls = facts.tls;
  client.alpn = q.alpn;
  client.client_ip = q.client_ip;
  client.server_first = entry.server_first;
  return true;
}

}  // namespace snigate::explain
