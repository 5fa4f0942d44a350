#include "session/snapshot.hpp"

#include "observe/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <variant>

#include "net/keep_alive.hpp"
#include "session/route_reuse.hpp"

namespace snigate::session {
namespace {

std::string_view strip_provider(std::string_view name) {
  if (name.ends_with("@file")) name.remove_suffix(5);
  return name;
}

// Made once per process: a reload must not change the certificate that
// clients without a matching name see.
std::shared_ptr<const tls::Cert> builtin_default_cert() {
  static std::once_flag once;
  static std::shared_ptr<const tls::Cert> cert;
  std::call_once(once, [] { cert = tls::self_signed_cert({"snigate.invalid"}); });
  return cert;
}

// A key read from etcd has a location without a line.
bool written(const config::Loc& at) { return at.line != 0 || !at.file.empty(); }

config::Error error_at(const config::Loc& loc, std::string path, std::string message) {
  return config::Error{loc, std::move(path), std::move(message)};
}

void load_certificates(const config::Dynamic& dyn, tls::CertStore& store, std::vector<config::Error>& errors) {
  for (std::size_t i = 0; i < dyn.certificates.size(); ++i) {
    const auto& c = dyn.certificates[i];
    std::string e;
    if (auto cert = tls::load_cert(c.cert_file, c.key_file, e)) store.add(std::move(cert));
    else errors.push_back(error_at(c.loc, fmt::format("tls.certificates[{}]", i), e));
  }
  if (dyn.default_certificate) {
    std::string e;
    store.fallback = tls::load_cert(dyn.default_certificate->cert_file, dyn.default_certificate->key_file, e);
    if (!store.fallback)
      errors.push_back(error_at(dyn.default_certificate->loc, "tls.stores.default.defaultCertificate", e));
  } else {
    store.fallback = builtin_default_cert();
  }
}

// The health check and passive policy of a load balancer, compiled.
void set_health(const config::Service& s, const std::string& transport, Service& svc) {
  svc.passive = balance::PassivePolicy{s.passive.failures, s.passive.downtime};
  if (!s.health_check) return;
  const config::HealthCheck& c = *s.health_check;
  balance::HealthCheck& h = svc.health_check.emplace();
  h.port = static_cast<std::uint16_t>(c.port);
  h.send = c.send;
  h.expect = c.expect;
  h.interval = c.interval;
  h.unhealthy_interval = c.unhealthy_interval.value_or(c.interval);
  h.timeout = c.timeout;
  h.tls = c.tls;
  h.protocol = c.protocol == "mysql"      ? balance::CheckProtocol::mysql
               : c.protocol == "postgres" ? balance::CheckProtocol::postgres
                                          : balance::CheckProtocol::tcp;
  svc.health_check_transport = h.tls ? transport : std::string();
}

// A server's health outlives a reload while its service, address and check
// stay the same (the TLS check's transport included).
std::string health_key(const Service& svc, const std::string& address) {
  return fmt::format("{}\n{}\n{}\n{}", svc.name, address, svc.health_check ? svc.health_check->describe() : "",
                     svc.health_check_transport);
}

// Weighted services point at their children, all built by now.
void link_children(const config::Dynamic& dyn, Snapshot& snap) {
  for (const auto& [name, s] : dyn.services) {
    Service& svc = *snap.services.at(name);
    svc.skip_down_children = s.weighted_health_check;
    for (const auto& c : s.children)
      if (auto it = snap.services.find(std::string(strip_provider(c.name))); it != snap.services.end()) {
        svc.children.push_back(it->second.get());
        svc.weights.push_back(c.weight);
      }
  }
}

std::unique_ptr<Service> build_service(const config::Service& s,
                                       const std::map<std::string, config::ServersTransport>& transports,
                                       std::vector<config::Error>& errors) {
  auto svc = std::make_unique<Service>();
  svc->name = s.name;
  const std::string tname = s.servers_transport.empty() ? "default" : std::string(strip_provider(s.servers_transport));
  const config::ServersTransport* st = nullptr;
  if (auto it = transports.find(tname); it != transports.end()) st = &it->second;
  static const config::ServersTransport kDefault = [] {
    config::ServersTransport d;
    d.name = "default";
    return d;
  }();
  if (!st) st = &kDefault;
  svc->dial_timeout = st->dial_timeout;
  svc->termination_delay = st->termination_delay;
  // Traefik's reading: zero means the default, a negative value turns it off.
  svc->keep_alive = st->dial_keep_alive.count() == 0 ? net::kDefaultKeepAlive
                    : st->dial_keep_alive.count() < 0 ? config::Duration(0)
                                                      : st->dial_keep_alive;
  // Traefik: the service's deprecated loadBalancer.proxyProtocol wins over the transport's.
  svc->proxy_protocol = s.proxy_protocol_version ? s.proxy_protocol_version : st->proxy_protocol_version;
  set_health(s, tname, *svc);
  bool any_tls = false;
  for (std::size_t i = 0; i < s.servers.size(); ++i) {
    // Field by field: the aggregate form made GCC 12's Release build warn
    // (-Wmaybe-uninitialized) about `at`, which parse() fills below.
    Server server;
    server.address = s.servers[i].address;
    server.tls = s.servers[i].tls;
    server.health = balance::health_for(health_key(*svc, s.servers[i].address));
    if (!net::HostPort::parse(server.address, server.at))
      errors.push_back(error_at(s.servers[i].loc, fmt::format("tcp.services.{}.loadBalancer.servers[{}].address", s.name, i),
                                "\"" + server.address + "\" is not host:port"));
    any_tls |= server.tls;
    svc->servers.push_back(std::move(server));
  }
  if (any_tls || (svc->health_check && svc->health_check->tls)) svc->backend_tls = tls::make_backend_tls(*st, errors);
  for (Server& server : svc->servers) server.lb = svc.get();
  return svc;
}

// A MySQL client asks for TLS inside the MySQL handshake, after snigate's own
// greeting; snigate must then answer the ClientHello itself and later speak
// MySQL to the server for the client (the server's greeting and scramble are
// not the ones the client saw). Bytes cannot be passed through untouched, so
// every router of a mysql entry point terminates TLS.
void check_mysql_route(const config::Router& r, const Route& route, const std::string& ep_name,
                       std::vector<config::Error>& errors) {
  const std::string path = "tcp.routers." + r.name;
  const std::string why = fmt::format(" (entry point {} speaks MySQL: snigate sends the greeting, terminates TLS "
                                      "inside the MySQL handshake and authenticates the client against the server)",
                                      ep_name);
  if (route.passthrough)
    errors.push_back(error_at(r.loc, path + ".tls.passthrough",
                              "passthrough cannot work on a mysql entry point: the client's TLS starts inside "
                              "snigate's MySQL handshake, not the server's; remove passthrough" + why));
  else if (!route.tls)
    errors.push_back(error_at(r.loc, path + ".tls",
                              "a router of a mysql entry point needs tls: {} (add mysql.allowPlaintext: true "
                              "to also accept clients without TLS)" + why));
  if (route.service && route.service->whoami)
    errors.push_back(error_at(r.service_loc, path + ".service", "whoami@internal does not speak MySQL" + why));
}

// On a postgres entry point every client speaks PostgreSQL first: a router
// either passes the client's TLS through (the server gets snigate's own
// SSLRequest first) or terminates it. There is no plain-TCP catch-all:
// plaintext clients are a per-router opt-in (postgres.allowPlaintext).
void check_postgres_route(const config::Router& r, const Route& route, const std::string& ep_name,
                          std::vector<config::Error>& errors) {
  const std::string path = "tcp.routers." + r.name;
  if (!route.tls)
    errors.push_back(error_at(r.loc, path + ".tls",
                              fmt::format("a router of a postgres entry point ({}) needs tls: {{}} or tls: "
                                          "{{passthrough: true}} (add postgres.allowPlaintext: true to a "
                                          "terminating router to also accept clients without TLS)",
                                          ep_name)));
  if (route.service && route.service->whoami)
    errors.push_back(error_at(r.service_loc, path + ".service",
                              fmt::format("whoami@internal does not speak PostgreSQL (entry point {})", ep_name)));
}

// On a mail or XMPP entry point snigate speaks the protocol until the
// client's STARTTLS: TLS routers pass the client's TLS through or terminate
// it, and (mail only) a plain router takes clients that log in without TLS.
void check_mail_route(const config::Router& r, const Route& route, const EntryRoutes& entry,
                      std::vector<config::Error>& errors) {
  // XMPP clients are refused before TLS: a plain router there would never
  // take one.
  if (entry.ep.protocol == config::Protocol::xmpp && !route.tls)
    errors.push_back(error_at(r.loc, "tcp.routers." + r.name + ".tls",
                              fmt::format("a router of an xmpp entry point ({}) needs tls: {{}} or tls: {{passthrough: "
                                          "true}}; snigate takes no XMPP stream without STARTTLS",
                                          entry.ep.name)));
  if (route.service && route.service->whoami)
    errors.push_back(error_at(r.service_loc, "tcp.routers." + r.name + ".service",
                              fmt::format("whoami@internal does not speak {} (entry point {})",
                                          config::protocol_name(entry.ep.protocol), entry.ep.name)));
}

using TlsOptionsByName = std::map<std::string, config::TlsOptions>;

// The configured tls.options plus "default", which a terminating router
// without tls.options uses.
TlsOptionsByName tls_options_with_default(const config::Dynamic& dyn) {
  auto options = dyn.tls_options;
  if (!options.contains("default")) options["default"].name = "default";
  return options;
}

// Each tls.options gets its contexts; the per-certificate ones need the
// certificates, so these are loaded in between.
void build_tls(const TlsOptionsByName& options, const config::Dynamic& dyn, Snapshot& snap,
               std::vector<config::Error>& errors) {
  std::map<std::string, std::shared_ptr<tls::ServerOptions>> built;
  for (const auto& [name, o] : options)
    if (auto b = tls::make_server_options(o, errors)) built[name] = std::move(b);
  load_certificates(dyn, snap.certs, errors);
  for (auto& [name, b] : built) {
    tls::add_cert_contexts(*b, options.at(name), snap.certs);
    snap.options[name] = std::move(b);
  }
}

void build_services(const config::Dynamic& dyn, Snapshot& snap, std::vector<config::Error>& errors) {
  for (const auto& [name, s] : dyn.services) snap.services[name] = build_service(s, dyn.servers_transports, errors);
  link_children(dyn, snap);
  auto whoami = std::make_unique<Service>();
  whoami->name = "whoami@internal";
  whoami->whoami = true;
  snap.services["whoami@internal"] = std::move(whoami);
}

// Built once per load; the state they count in is shared with the previous
// load's middlewares of the same name (policy/registry).
void build_middlewares(const config::Dynamic& dyn, Snapshot& snap) {
  for (const auto& [name, m] : dyn.middlewares) snap.middlewares[name] = policy::build(m);
}

// A HostSNIRegexp with a capital letter never matches. Warned here, where the
// rule is compiled once anyway, not in a second parse at load.
void warn_capital_patterns(const config::Router& r, const Route& route, const std::string& path,
                           std::vector<config::Error>* warnings) {
  for (const std::string& p : rule::patterns_with_capitals(route.rule))
    if (warnings) warnings->push_back(error_at(r.rule_loc, path + ".rule",
                                 fmt::format("HostSNIRegexp(`{}`) needs a capital letter, but the SNI is compared in "
                                             "lower case (as in Traefik), so it never matches there: write it in "
                                             "lower case or add (?i)",
                                             p)));
}

// Traefik's defaults: priority 0 means "not set"; unset, a lone HostSNI(`*`)
// gets -1 so that every other router is tried first, and any other rule its
// length.
void set_priority(const config::Router& r, Route& route) {
  if (r.priority && *r.priority != 0) {
    route.priority = *r.priority;
    route.priority_from = PriorityFrom::set;
  } else if (rule::is_catch_all(route.rule)) {
    route.priority = -1;
    route.priority_from = PriorityFrom::catch_all;
  } else {
    route.priority = static_cast<int>((r.rule_as_written.empty() ? r.rule : r.rule_as_written).size());
    route.priority_from = PriorityFrom::rule_length;
  }
}

// What a router's tls setting allows: a plain router must be able to match a
// client that sends no name, and plaintext PostgreSQL needs termination.
void check_tls_mode(const config::Router& r, const Route& route, const std::string& path,
                    std::vector<config::Error>& errors) {
  if (!route.tls && !rule::can_match_plain(route.rule))
    errors.push_back(error_at(r.rule_loc, path + ".rule",
                              fmt::format("`{}` can never match: a router without tls takes only plain clients, "
                                          "which send no server name or ALPN; add `tls: {{}}` (terminate) or "
                                          "`tls: {{passthrough: true}}`, or use HostSNI(`*`)",
                                          r.rule)));
  if (r.postgres_allow_plaintext && !(route.tls && !route.passthrough))
    errors.push_back(error_at(r.postgres_loc, path + ".postgres.allowPlaintext",
                              "needs tls: {} on the router: plaintext PostgreSQL clients are routed by user@host, "
                              "which only a router that terminates can read"));
}

// The router's service, middlewares and (when it terminates) its tls.options, by name.
void resolve_names(const config::Router& r, const std::string& path, const Snapshot& snap,
                   const TlsOptionsByName& options, Route& route, std::vector<config::Error>& errors) {
  const std::string svc_name(strip_provider(r.service));
  if (auto it = snap.services.find(svc_name); it != snap.services.end()) route.service = it->second.get();
  else errors.push_back(error_at(r.service_loc, path + ".service", "no service named \"" + r.service + "\""));
  for (std::size_t i = 0; i < r.middlewares.size(); ++i) {
    if (auto it = snap.middlewares.find(std::string(strip_provider(r.middlewares[i]))); it != snap.middlewares.end())
      route.middlewares.push_back(it->second.get());
    else
      errors.push_back(error_at(i < r.middleware_locs.size() ? r.middleware_locs[i] : r.loc,
                                fmt::format("{}.middlewares[{}]", path, i),
                                "no middleware named \"" + r.middlewares[i] + "\""));
  }
  if (route.tls && !route.passthrough) {
    const std::string oname = r.tls->options.empty() ? "default" : std::string(strip_provider(r.tls->options));
    if (auto it = snap.options.find(oname); it != snap.options.end()) route.options = it->second;
    else if (!options.contains(oname))
      errors.push_back(error_at(r.tls->options_loc, path + ".tls.options", "no tls.options named \"" + oname + "\""));
  }
}

// Settings that contradict each other once the names are resolved: a
// plaintext client cannot present the certificate the options require, and
// whoami@internal answers only over TLS that snigate terminates.
void check_resolved(const config::Router& r, const std::string& path, const TlsOptionsByName& options,
                    const Route& route, std::vector<config::Error>& errors) {
  if ((r.mysql_allow_plaintext || r.postgres_allow_plaintext) && route.options) {
    const auto& o = options.at(route.options->name);
    if (o.client_auth_type == "RequireAnyClientCert" || o.client_auth_type == "RequireAndVerifyClientCert")
      errors.push_back(error_at(r.mysql_allow_plaintext ? r.mysql_loc : r.postgres_loc,
                                path + (r.mysql_allow_plaintext ? ".mysql" : ".postgres") + ".allowPlaintext",
                                fmt::format("the router's tls.options \"{}\" require a client certificate "
                                            "({}), which a plaintext client cannot present: remove allowPlaintext",
                                            o.name, o.client_auth_type)));
  }
  if (route.passthrough && route.service && route.service->whoami)
    errors.push_back(error_at(r.service_loc, path + ".service",
                              "whoami@internal needs TLS terminated by snigate; remove passthrough"));
}

// The previous snapshot's rules by their text: a rule that has not changed
// is shared, not parsed again (a parsed rule is immutable, and a pattern
// compiled on first use stays compiled).
using KnownRules = std::unordered_map<std::string_view, const rule::Rule*>;

KnownRules rules_of(const Snapshot* previous) {
  KnownRules known;
  if (!previous) return known;
  known.reserve(previous->router_count);
  for (const auto& [ep, entry] : previous->entries)
    for (const Route& r : entry.routes) known.emplace(r.rule.text, &r.rule);
  for (const Route& r : previous->unattached) known.emplace(r.rule.text, &r.rule);
  return known;
}

std::variant<rule::Rule, rule::ParseError> parse_rule(const std::string& text, const KnownRules& known) {
  if (auto it = known.find(text); it != known.end()) return *it->second;
  return rule::parse(text);
}

// One router as a Route, every error it has appended; nothing when its rule
// does not parse (the checks after it would only repeat that).
std::optional<Route> compile_route(const std::string& name, const config::Router& r, const Snapshot& snap,
                                   const TlsOptionsByName& options, const KnownRules& known,
                                   std::vector<config::Error>& errors, std::vector<config::Error>* warnings) {
  const std::string path = "tcp.routers." + name;
  auto parsed = parse_rule(r.rule, known);
  if (auto* pe = std::get_if<rule::ParseError>(&parsed)) {
    errors.push_back(error_at(r.rule_loc, path + ".rule", fmt::format("{} (at character {} of `{}`)", pe->message, pe->offset + 1, r.rule)));
    return std::nullopt;
  }
  Route route;
  route.name = name;
  route.rule = std::get<rule::Rule>(std::move(parsed));
  warn_capital_patterns(r, route, path, warnings);
  set_priority(r, route);
  route.tls = r.tls.has_value();
  route.passthrough = r.tls && r.tls->passthrough;
  check_tls_mode(r, route, path, errors);
  route.allow_plaintext = r.mysql_allow_plaintext;
  route.pg_allow_plaintext = r.postgres_allow_plaintext;
  route.idle_timeout = r.idle_timeout;
  route.rule_as_written = r.rule_as_written;
  route.v2_syntax = (r.rule_syntax.empty() ? snap.stat.default_rule_syntax : r.rule_syntax) == "v2";
  route.mysql_written = written(r.mysql_loc);
  route.postgres_written = written(r.postgres_loc);
  route.fingerprint = r.fingerprint;
  resolve_names(r, path, snap, options, route, errors);
  check_resolved(r, path, options, route, errors);
  resolve_cert_names(r, path, route, errors);
  return route;
}

// Adds the route to each entry point the router names, with that entry
// point's protocol checks; false when it is in none. Without entryPoints: the
// entry points marked asDefault, or all when none is (Traefik's rule).
bool add_to_entry_points(const config::Router& r, Route&& route, bool any_default, Snapshot& snap,
                         std::vector<config::Error>& errors) {
  std::vector<EntryRoutes*> into;
  for (auto& [ep_name, entry] : snap.entries) {
    if (entry.ep.admin) continue;  // HTTP only (validate() refuses a router that names it)
    const bool here = r.entry_points.empty() ? entry.ep.as_default || !any_default
                                             : std::ranges::find(r.entry_points, ep_name) != r.entry_points.end();
    if (!here) continue;
    if (entry.ep.protocol == config::Protocol::mysql) check_mysql_route(r, route, ep_name, errors);
    if (entry.ep.protocol == config::Protocol::postgres) check_postgres_route(r, route, ep_name, errors);
    if (config::is_mail(entry.ep.protocol) || entry.ep.protocol == config::Protocol::xmpp)
      check_mail_route(r, route, entry, errors);
    into.push_back(&entry);
  }
  for (std::size_t i = 0; i + 1 < into.size(); ++i) into[i]->routes.push_back(route);
  if (into.empty()) return false;
  into.back()->routes.push_back(std::move(route));
  return true;
}

// Orders the entry point's routes for match() and derives what the listener
// needs to know before any client has spoken.
void finish_entry(EntryRoutes& entry, const EntryRoutes* previous) {
  // Positions are sorted, not Routes: each is moved once, into a vector of
  // exactly its size (grown by push_back, up to half would be spare).
  std::vector<std::uint32_t> order(entry.routes.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::ranges::sort(order, [&](std::uint32_t x, std::uint32_t y) {
    const Route& a = entry.routes[x];
    const Route& b = entry.routes[y];
    return a.priority != b.priority ? a.priority > b.priority : a.name < b.name;
  });
  std::vector<Route> sorted;
  sorted.reserve(order.size());
  for (std::uint32_t i : order) sorted.push_back(std::move(entry.routes[i]));
  entry.routes = std::move(sorted);
  entry.index = build_route_index(entry.routes, previous ? &previous->index : nullptr);
  entry.has_tls_routes = std::ranges::any_of(entry.routes, [](const Route& r) { return r.tls; });
  entry.has_plain_routes = std::ranges::any_of(entry.routes, [](const Route& r) { return !r.tls; });
  entry.server_first = !entry.acme_http && !entry.routes.empty() && std::ranges::all_of(entry.routes, [](const Route& r) {
    return !r.tls && rule::is_catch_all(r.rule);
  });
  if (entry.ep.proxy_protocol)
    for (const std::string& text : entry.ep.proxy_protocol->trusted_ips) {
      auto parsed = rule::parse_ip_range(text);  // load() has refused a range that does not parse
      if (auto* range = std::get_if<rule::IpRange>(&parsed)) entry.proxy_trusted.push_back(*range);
    }
  entry.client_first = entry.ep.protocol == config::Protocol::postgres || entry.ep.protocol == config::Protocol::xmpp ||
                       (entry.ep.protocol == config::Protocol::tcp && (entry.has_tls_routes || entry.acme_http) &&
                        !entry.has_plain_routes);
}

}  // namespace

std::shared_ptr<const Snapshot> compile(const config::Loaded& cfg, std::vector<config::Error>& errors,
                                        std::vector<config::Error>* warnings) {
  config::Dynamic copy = cfg.dyn;
  return compile(cfg.stat, std::move(copy), errors, warnings);
}

std::shared_ptr<const Snapshot> compile(const config::Static& stat, config::Dynamic&& dyn,
                                        std::vector<config::Error>& errors, std::vector<config::Error>* warnings,
                                        const Snapshot* previous) {
  static std::atomic<std::uint64_t> generations{0};
  const std::size_t before = errors.size();
  auto snap = std::make_shared<Snapshot>();
  snap->generation = ++generations;
  snap->stat = stat;
  auto source = std::make_shared<config::Dynamic>(std::move(dyn));

  const TlsOptionsByName options = tls_options_with_default(*source);
  build_tls(options, *source, *snap, errors);
  build_services(*source, *snap, errors);
  build_middlewares(*source, *snap);
  for (const auto& [ep_name, ep] : stat.entry_points) {
    snap->entries[ep_name].ep = ep;
    snap->entries[ep_name].open = &observe::open_connections_of(ep_name);
  }
  for (const auto& [name, res] : stat.acme)
    if (auto e = snap->entries.find(res.http_entry_point); e != snap->entries.end()) e->second.acme_http = true;

  const bool any_default = std::ranges::any_of(stat.entry_points, [](const auto& e) { return e.second.as_default; });
  const auto reused = static_cast<std::size_t>(
      std::ranges::count_if(source->routers, [](const auto& r) { return r.second.reused; }));
  const LentRoutes lent = reused ? lent_routes(previous) : LentRoutes();
  // Indexing the serving rules pays when many routers are read again.
  const KnownRules known = (source->routers.size() - reused) * 8 >= source->routers.size() ? rules_of(previous)
                                                                                             : KnownRules();
  for (const auto& [name, r] : source->routers) {
    if (r.reused) {
      snap->reused_routers += take_over(name, lent, *snap, errors);
      continue;
    }
    if (auto route = compile_route(name, r, *snap, options, known, errors, warnings))
      if (!add_to_entry_points(r, std::move(*route), any_default, *snap, errors))
        snap->unattached.push_back(std::move(*route));
  }
  for (auto& [ep_name, entry] : snap->entries) finish_entry(entry, previous ? previous->entry(ep_name) : nullptr);
  if (warnings) untrust_warned(*snap, *source, *warnings);
  else source->context = 0;  // which routers warned is not known: the next load reads them all
  snap->acme_wants = acme_wants(*snap);
  snap->router_count = source->routers.size();
  source->routers.clear();  // the Routes hold what is left to know of them
  snap->source = std::move(source);

  if (errors.size() != before) return nullptr;
  return snap;
}

const Route* match(const EntryRoutes& entry, const Facts& facts) {
  if (entry.index.built) return first_match(entry.index, entry.routes, facts);
  for (const Route& r : entry.routes)
    if (r.tls == facts.tls && rule::match(r.rule, facts)) return &r;
  return nullptr;
}

}  // namespace snigate::session
