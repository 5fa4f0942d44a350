#pragma once
// What `snigate explain` and /api/explain find out about a client, as plain
// data: the query, the client as the entry point sees it, every router's
// verdict, the chosen router's middlewares and service, and the outcome. The
// text and JSON printers (explain/text.hpp, explain/json.hpp) only format it.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace snigate::explain {

struct Query {
  std::string entry_point;
  bool plain = false;  // a client that does not start TLS
  std::string sni;
  std::vector<std::string> alpn;
  std::string client_ip;
  std::string user;  // a MySQL or PostgreSQL login's user name, maybe user@host
  bool all = false;  // list every router, however many the entry point has
};

// An entry point with at most this many routers has each one listed; a larger
// one only those the route index could not rule out, and counts of the rest.
inline constexpr std::size_t kListEveryRouterUpTo = 20;

// The client as the chosen entry point sees it.
struct Client {
  std::string entry_point;
  std::string address;  // the entry point's
  config::Protocol protocol = config::Protocol::tcp;
  bool plain = false;       // as asked (--plain)
  bool tls = true;          // what routing sees: a server-first entry point reads nothing, so plain
  std::string sni;          // lower-cased; on a database entry point maybe the @host of the user name
  std::vector<std::string> alpn;
  std::string client_ip;    // as given; "" means any
  std::string name_note;    // database entry points: where the routed name came from
  bool server_first = false;  // every router is a plain HostSNI(`*`)
};

enum class Mode { plain, passthrough, terminate };

// The certificate a terminating router would present for the SNI.
struct Certificate {
  std::string origin;  // the file (or "default") it came from
  std::string how;     // exact, wildcard, default, or unknown (in etcd, read only by the gateway)
  bool refused_by_sni_strict = false;  // sniStrict and no certificate names the SNI
  std::string acme;  // the router's certResolver: what it holds or does for the name
};

struct RouterVerdict {
  std::string name;
  std::string rule;
  int priority = 0;
  std::string priority_from;  // "set", "rule length", "default for HostSNI(`*`)"
  bool chosen = false;
  std::string why_not;        // empty for the chosen router
  // The chosen router only:
  std::string service;
  Mode mode = Mode::plain;
  std::optional<Certificate> certificate;
};

// One middleware of the chosen router's chain and what it does to the client.
struct MiddlewareCheck {
  std::string name;
  std::string kind;  // ipAllowList, inFlightConn, rateLimit
  std::string what;
  bool refuses = false;  // refuses this client whatever the traffic
};

struct ServerState {
  std::string address;
  bool usable = false;  // neither the health check nor passive health holds it out now
};

// Routers left out of the listing that cannot take the client for one reason.
struct Unlisted {
  enum class Why {
    other_kind,     // they are for TLS clients and this one is plain, or the other way round
    no_name,        // they need a server name and the client sent none
    name_mismatch,  // their name conditions (HostSNI names, wildcards, HostSNIRegexp) reject the name
  };
  Why why = Why::name_mismatch;
  bool tls = true;         // the routers are for TLS clients
  std::string conditions;  // name_mismatch: "HostSNI names", "HostSNI names and wildcards", ...
  std::size_t count = 0;
};

// "9,998 TLS routers whose HostSNI names do not match SNI "x"": the count
// and the reason, for a client that sent `sni`.
std::string describe(const Unlisted& u, const std::string& sni);

// 9998 as "9,998".
std::string with_commas(std::size_t n);

enum class Outcome { match, refused_by_middleware, refused_plaintext, no_match, bad_query };

struct Result {
  Outcome outcome = Outcome::match;
  std::string error;   // bad_query: what is wrong with the query
  Query query;
  Client client;
  // The entry point's routers in priority order: every one (when it has few,
  // or the query asks for all), else the chosen one, the route index's
  // candidates for the client and those whose rule says nothing usable about
  // the name.
  std::vector<RouterVerdict> routers;
  std::vector<Unlisted> unlisted;  // the others, counted by reason
  std::size_t router_count = 0;    // of the entry point
  std::vector<MiddlewareCheck> middlewares;  // the chosen router's, in order
  std::string service_choice;   // lines: the server the chosen router's service takes next, and why
  std::vector<ServerState> servers;  // every server the chosen router's service may reach
  std::string refusal;          // refused_* and no_match: the reason, in words

  const RouterVerdict* chosen() const {
    for (const RouterVerdict& r : routers)
      if (r.chosen) return &r;
    return nullptr;
  }
};

// The CLI's exit code: 0 a router takes the client, 1 none does or it is refused, 2 a bad query.
int exit_code(const Result& r);

}  // namespace snigate::explain
