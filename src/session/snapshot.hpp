#pragma once
// The compiled, immutable configuration that connections use. A reload builds
// a new Snapshot and swaps one pointer; a connection keeps the one it started
// with for its whole life.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/manager.hpp"
#include "balance/service.hpp"
#include "config/config.hpp"
#include "net/dial.hpp"
#include "policy/chain.hpp"
#include "rule/ip_range.hpp"
#include "rule/rule.hpp"
#include "session/route_index.hpp"
#include "tls/cert_store.hpp"
#include "tls/contexts.hpp"

namespace snigate::session {

using balance::Server;
using balance::Service;

// Where a router's priority came from, for explain.
enum class PriorityFrom { set, rule_length, catch_all };

// A router as compiled for one entry point; a router in several entry points
// has a Route in each. The last fields keep what the API shows of the router
// as written, since the snapshot does not keep the loader's config::Router.
struct Route {
  std::string name;
  rule::Rule rule;  // rule.text: in v3 syntax, whatever the router's ruleSyntax
  int priority = 0;
  PriorityFrom priority_from = PriorityFrom::rule_length;
  bool tls = false;          // matches TLS clients only; otherwise plain clients only
  bool passthrough = false;
  bool allow_plaintext = false;  // mysql.allowPlaintext: MySQL clients without SSLRequest may use it
  bool pg_allow_plaintext = false;  // postgres.allowPlaintext: PostgreSQL clients without TLS may use it
  std::optional<config::Duration> idle_timeout;  // idleTimeout: replaces the entry point's tcpIdleTimeout
  const Service* service = nullptr;
  std::shared_ptr<const tls::ServerOptions> options;  // termination only
  std::vector<const policy::Middleware*> middlewares;  // the router's chain, in order (Snapshot::middlewares)
  std::string rule_as_written;  // a v2 router's rule as written; empty for v3, where it is rule.text
  bool v2_syntax = false;       // ruleSyntax (or core.defaultRuleSyntax) is v2
  bool mysql_written = false;   // a mysql section was written (the API shows it even when false)
  bool postgres_written = false;
  // Of the router's text, when the next reload may take this Route over
  // unread (session/route_reuse.hpp); 0 when it must read the router again.
  std::uint64_t fingerprint = 0;
  // tls.certResolver, and the names of each certificate it orders for this
  // router: tls.domains, or the rule's HostSNI names (session/acme_wants.cpp).
  std::string cert_resolver;
  std::vector<std::vector<std::string>> cert_names;
};

struct EntryRoutes {
  config::EntryPoint ep;
  std::vector<Route> routes;  // by priority, highest first; ties by name
  RouteIndex index;           // of `routes`, which match() consults instead of trying each
  bool has_tls_routes = false;
  bool has_plain_routes = false;
  // Every router is a plain HostSNI(`*`): nothing the client says can change
  // the choice, so connect at once (server-first protocols need that).
  bool server_first = false;
  // Every client must speak before anything is decided: PostgreSQL, or TLS
  // routers only. Listeners then defer accept until the first bytes arrive.
  bool client_first = false;
  // An ACME resolver's httpChallenge.entryPoint: plain first bytes are read
  // for a challenge request before any router (session/acme_answer.hpp).
  bool acme_http = false;
  std::atomic<long>* open = nullptr;  // its open connections (observe::open_connections_of)
  // ep.proxy_protocol's trustedIPs, parsed: the peers whose PROXY header is believed.
  std::vector<rule::IpRange> proxy_trusted;
};

struct Snapshot {
  std::uint64_t generation = 0;
  config::Static stat;
  // What it was compiled from, for the API, less its routers: a router lives
  // on as its Routes, which hold all the API shows. The loader's record of a
  // router, with a position for every key, weighs more than the Route.
  std::shared_ptr<const config::Dynamic> source;
  std::size_t router_count = 0;
  std::size_t reused_routers = 0;  // taken over unread from the snapshot before
  // Routers in no entry point (there is none that routes TCP): the API lists them as disabled.
  std::vector<Route> unattached;
  std::chrono::system_clock::time_point compiled_at = std::chrono::system_clock::now();
  std::map<std::string, EntryRoutes> entries;
  std::map<std::string, std::unique_ptr<Service>> services;
  std::map<std::string, std::unique_ptr<const policy::Middleware>> middlewares;  // tcp.middlewares
  tls::CertStore certs;
  std::map<std::string, std::shared_ptr<const tls::ServerOptions>> options;
  // The certificates routers want from ACME resolvers, less those whose names
  // tls.certificates already covers (as Traefik does).
  std::vector<acme::Wanted> acme_wants;

  const EntryRoutes* entry(const std::string& name) const {
    auto it = entries.find(name);
    return it == entries.end() ? nullptr : &it->second;
  }
};

// A router's certResolver names (from tls.domains or its HostSNI matchers)
// into route; an error when a rule names no host a certificate can be ordered for.
void resolve_cert_names(const config::Router& r, const std::string& path, Route& route,
                        std::vector<config::Error>& errors);
// What the routers of snap want ordered (Snapshot::acme_wants).
std::vector<acme::Wanted> acme_wants(const Snapshot& snap);

// Compiles a load without errors into a Snapshot; appends to errors (rule
// syntax, certificates, TLS options) and returns nullptr if there are any.
std::shared_ptr<const Snapshot> compile(const config::Loaded& cfg, std::vector<config::Error>& errors,
                                        std::vector<config::Error>* warnings = nullptr);
// The same, taking the dynamic configuration instead of copying it; a reload
// passes the snapshot it replaces, whose unchanged rules and HostSNIRegexp
// sets are shared instead of built again.
std::shared_ptr<const Snapshot> compile(const config::Static& stat, config::Dynamic&& dyn,
                                        std::vector<config::Error>& errors,
                                        std::vector<config::Error>* warnings = nullptr,
                                        const Snapshot* previous = nullptr);

// The first route, in priority order, that takes a client with these facts:
// its tls flag is the client's and its rule matches. Only the candidates the
// entry point's index gives for the client's name are tried.
const Route* match(const EntryRoutes& entry, const Facts& facts);

}  // namespace snigate::session
