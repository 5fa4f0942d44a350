// Cross references between the parts of a merged configuration: a router's
// service, middlewares, entry points and TLS options, a service's servers
// transport.
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <utility>

#include "config/loader.hpp"

namespace snigate::config::detail {

namespace {

template <class T>
std::string unknown(std::string_view what, const std::string& name, const std::map<std::string, T>& known,
                    std::string_view where) {
  std::vector<std::string_view> names;
  for (const auto& [n, unused] : known) names.push_back(n);
  std::string msg = fmt::format("unknown {} \"{}\"", what, name);
  if (std::string hint = walk::did_you_mean(name, names); !hint.empty())
    msg += fmt::format(" (did you mean \"{}\"?)", hint);
  else if (names.empty())
    msg += fmt::format(": no {} is defined in {}", what, where);
  return msg;
}

void check_service(Router& r, const Dynamic& dyn, std::vector<Error>& errors) {
  if (r.service.empty()) return;  // reported while parsing
  std::string path = fmt::format("tcp.routers.{}.service", r.name);
  if (std::string wrong = normalize_provider(r.service); !wrong.empty()) {
    errors.push_back(Error{r.service_loc, path, std::move(wrong)});
    return;
  }
  if (r.service.ends_with("@internal")) {
    if (r.service != "whoami@internal")
      errors.push_back(Error{r.service_loc, path,
                             fmt::format("unknown internal service \"{}\": the only one is whoami@internal", r.service)});
    return;
  }
  if (!dyn.services.count(r.service))
    errors.push_back(Error{r.service_loc, path, unknown("service", r.service, dyn.services, "tcp.services")});
}

// Each name of the router's middlewares, "name@file" as "name"; the same
// middleware twice would count a connection twice, so it is an error too.
void check_middlewares(Router& r, const Dynamic& dyn, std::vector<Error>& errors) {
  for (std::size_t i = 0; i < r.middlewares.size(); ++i) {
    std::string& m = r.middlewares[i];
    const Loc at = i < r.middleware_locs.size() ? r.middleware_locs[i] : r.loc;
    const std::string path = fmt::format("tcp.routers.{}.middlewares[{}]", r.name, i);
    if (std::string wrong = normalize_provider(m); !wrong.empty())
      errors.push_back(Error{at, path, std::move(wrong)});
    else if (!dyn.middlewares.count(m))
      errors.push_back(Error{at, path, unknown("middleware", m, dyn.middlewares, "tcp.middlewares")});
    else if (std::find(r.middlewares.begin(), r.middlewares.begin() + static_cast<std::ptrdiff_t>(i), m) !=
             r.middlewares.begin() + static_cast<std::ptrdiff_t>(i))
      errors.push_back(Error{at, path, fmt::format("middleware \"{}\" is listed twice", m)});
  }
}

// What a counting middleware does for an address that an ipAllowList after
// it refuses; empty when it counts nothing (rateLimit average 0, amount 0).
std::string_view spent_before_refusal(const Middleware& m) {
  if (m.kind == MiddlewareKind::rate_limit && m.average > 0)
    return "addresses the allow list refuses still spend its tokens and hold its buckets, and one out of tokens "
           "is told to try again later rather than that it is not allowed";
  if (m.kind == MiddlewareKind::in_flight_conn && m.amount > 0)
    return "addresses the allow list refuses still take one of its slots until the list refuses them, and one "
           "whose slots are taken is told it has too many open connections rather than that it is not allowed";
  return {};
}

// docs/policy.md: "Put ipAllowList first". A counting middleware earlier in
// the chain runs for every address, also those the allow list is there to
// keep out. Runs after check_middlewares, on the names it left.
void check_chain_order(const Router& r, const Dynamic& dyn, std::vector<Error>& warnings) {
  auto defined = [&](std::size_t i) -> const Middleware* {
    auto it = dyn.middlewares.find(r.middlewares[i]);
    return it == dyn.middlewares.end() ? nullptr : &it->second;
  };
  for (std::size_t i = 0; i < r.middlewares.size(); ++i) {
    const Middleware* counter = defined(i);
    if (!counter || spent_before_refusal(*counter).empty()) continue;
    for (std::size_t j = i + 1; j < r.middlewares.size(); ++j) {
      const Middleware* allow = defined(j);
      if (!allow || allow->kind != MiddlewareKind::ip_allow_list) continue;
      const char* kind = counter->kind == MiddlewareKind::rate_limit ? "rateLimit" : "inFlightConn";
      warnings.push_back(Error{i < r.middleware_locs.size() ? r.middleware_locs[i] : r.loc,
                               fmt::format("tcp.routers.{}.middlewares", r.name),
                               fmt::format("{} \"{}\" ([{}]) runs before ipAllowList \"{}\" ([{}]): {}; list the "
                                           "ipAllowList first",
                                           kind, counter->name, i, allow->name, j, spent_before_refusal(*counter))});
      break;
    }
  }
}

// (host, port) of a listen address that check_address accepted; the host is
// empty for every address of the machine.
std::pair<std::string, std::string_view> host_port(std::string_view a) {
  const auto colon = a.rfind(':');
  std::string host(a.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (host == "0.0.0.0" || host == "::") host.clear();
  return {host, a.substr(colon + 1)};
}

// Two entry points on one address would otherwise fail at start with "Address
// already in use", as if another process held the port (or, both with
// reusePort, silently share its clients).
void check_shared_addresses(const Static& stat, std::vector<Error>& errors) {
  for (auto a = stat.entry_points.begin(); a != stat.entry_points.end(); ++a) {
    if (!walk::check_address(a->second.address, true).empty()) continue;  // reported already
    const auto [ha, pa] = host_port(a->second.address);
    for (auto b = std::next(a); b != stat.entry_points.end(); ++b) {
      if (!walk::check_address(b->second.address, true).empty()) continue;
      const auto [hb, pb] = host_port(b->second.address);
      if (pa != pb || !(ha == hb || ha.empty() || hb.empty())) continue;
      errors.push_back(Error{b->second.loc, fmt::format("entryPoints.{}.address", b->first),
                             fmt::format("\"{}\" overlaps entry point {}'s \"{}\" (line {}): two entry points cannot "
                                         "listen on one address; give each its own port or address",
                                         b->second.address, a->first, a->second.address, a->second.loc.line)});
    }
  }
}


// A router without entryPoints attaches to every entry point that routes
// TCP: when every one serves the admin side over HTTP, it would serve nowhere.
void check_attached(const Static& stat, const std::string& name, const Router& r, std::vector<Error>& errors) {
  if (!r.entry_points.empty() || stat.entry_points.empty()) return;
  for (const auto& [ep_name, ep] : stat.entry_points)
    if (!ep.admin) return;
  errors.push_back(Error{r.loc, "tcp.routers." + name,
                         "no entry point would take it: every entry point serves the API, /metrics or /ping over "
                         "HTTP, which carries no TCP routers; add an entry point for it"});
}

void check_cert_resolver(const Static& stat, Router& r, std::vector<Error>& errors, std::vector<Error>& warnings) {
  RouterTls& t = *r.tls;
  const std::string path = fmt::format("tcp.routers.{}.tls.certResolver", r.name);
  if (t.cert_resolver.empty()) {
    if (!t.domains.empty())
      warnings.push_back(Error{t.domains.front().loc, fmt::format("tcp.routers.{}.tls.domains", r.name),
                               "unused without certResolver: the names are ordered from the resolver it names"});
    return;
  }
  if (!stat.acme.count(t.cert_resolver))
    errors.push_back(Error{t.cert_resolver_loc, path,
                           unknown("certificate resolver", t.cert_resolver, stat.acme, "certificatesResolvers")});
  else if (t.passthrough)
    warnings.push_back(Error{t.cert_resolver_loc, path,
                             "unused: with passthrough the server presents its own certificate, so none is ordered"});
}

}  // namespace

void validate(const Static& stat, Dynamic& dyn, std::vector<Error>& errors, std::vector<Error>& warnings) {
  check_shared_addresses(stat, errors);
  for (auto& [name, r] : dyn.routers) {
    if (r.reused) continue;  // checked when it was read, among the same names
    check_attached(stat, name, r, errors);
    check_service(r, dyn, errors);
    check_middlewares(r, dyn, errors);
    check_chain_order(r, dyn, warnings);
    for (std::size_t i = 0; i < r.entry_points.size(); ++i) {
      if (r.entry_points[i].ends_with("@file")) r.entry_points[i].resize(r.entry_points[i].size() - 5);
      Loc at = i < r.entry_point_locs.size() ? r.entry_point_locs[i] : r.loc;
      if (auto ep = stat.entry_points.find(r.entry_points[i]); ep != stat.entry_points.end()) {
        if (ep->second.admin)
          errors.push_back(Error{at, fmt::format("tcp.routers.{}.entryPoints[{}]", name, i),
                                 fmt::format("entry point {} serves the API, /metrics or /ping over HTTP and "
                                             "carries no TCP routers; name another entry point", ep->first)});
        continue;
      }
      errors.push_back(Error{at, fmt::format("tcp.routers.{}.entryPoints[{}]", name, i),
                             unknown("entry point", r.entry_points[i], stat.entry_points, "entryPoints")});
    }
    if (!r.tls) continue;
    check_cert_resolver(stat, r, errors, warnings);
    std::string& opts = r.tls->options;
    std::string path = fmt::format("tcp.routers.{}.tls.options", name);
    if (std::string wrong = normalize_provider(opts); !wrong.empty()) {
      errors.push_back(Error{r.tls->options_loc, path, std::move(wrong)});
      continue;
    }
    if (!opts.empty() && r.tls->passthrough)
      warnings.push_back(Error{r.tls->options_loc, path,
                               "unused: with passthrough the server terminates TLS, not snigate"});
    if (!opts.empty() && opts != "default" && !dyn.tls_options.count(opts))
      errors.push_back(Error{r.tls->options_loc, path, unknown("TLS options", opts, dyn.tls_options, "tls.options")});
  }
  validate_services(dyn, errors);
  for (auto& [name, s] : dyn.services) {
    const std::string wrong = normalize_provider(s.servers_transport);
    const std::string& t = s.servers_transport;
    if (!wrong.empty()) {
      errors.push_back(Error{s.servers_transport_loc, fmt::format("tcp.services.{}.loadBalancer.serversTransport", name), wrong});
      continue;
    }
    if (t.empty() || t == "default" || dyn.servers_transports.count(t)) continue;
    errors.push_back(Error{s.servers_transport_loc, fmt::format("tcp.services.{}.loadBalancer.serversTransport", name),
                           unknown("servers transport", t, dyn.servers_transports, "tcp.serversTransports")});
  }
}

}  // namespace snigate::config::detail
