// The dynamic part under tcp: routers, services, serversTransports (middlewares: config/middlewares.cpp).
#include <fmt/core.h>

#include <thread>

#include "config/fingerprint.hpp"
#include "config/loader.hpp"

namespace snigate::config::detail {

using walk::Ctx;
using walk::Item;
using walk::Key;

namespace {

// Each name must be one a CA can issue for over TLS-ALPN-01 or HTTP-01.
void check_domain_name(Ctx& ctx, const Item& v, const std::string& name) {
  if (name.starts_with("*."))
    ctx.error(v.loc(ctx), v.path,
              fmt::format("\"{}\": a wildcard name needs the DNS-01 challenge, which snigate does not do; give "
                          "its certificate in tls.certificates",
                          name));
  else if (name.empty() || name.find_first_of(" /:@*`") != std::string::npos)
    ctx.error(v.loc(ctx), v.path, fmt::format("\"{}\" is not a host name", name));
}

void parse_cert_domains(Ctx& ctx, const Item& it, RouterTls& out) {
  if (!it.value.is_list()) {
    ctx.error(it.loc(ctx), it.path, "must be a list: domains: [{main: example.com, sans: [www.example.com]}]");
    return;
  }
  for (std::size_t i = 0; i < it.value.size(); ++i) {
    Item d = it.element(it.value[i], i);
    CertDomain dom;
    dom.loc = d.loc(ctx);
    walk::walk_map(ctx, d, {
      {"main", [&](const Item& v) {
         if (walk::get_string(ctx, v, dom.main)) check_domain_name(ctx, v, dom.main);
       }},
      {"sans", [&](const Item& v) {
         if (!walk::get_string_list(ctx, v, dom.sans)) return;
         for (std::size_t k = 0; k < dom.sans.size(); ++k)
           check_domain_name(ctx, v.element(v.value[k], k), dom.sans[k]);
       }},
    });
    if (dom.main.empty() && d.value.is_map())
      ctx.error(dom.loc, d.path, "needs main: the certificate's first name");
    out.domains.push_back(std::move(dom));
  }
}

void parse_router_tls(Ctx& ctx, const Item& it, RouterTls& out) {
  walk::walk_map(ctx, it, {
    {"passthrough", [&](const Item& v) { walk::get_bool(ctx, v, out.passthrough); }},
    {"options", [&](const Item& v) {
       out.options_loc = v.loc(ctx);
       walk::get_string(ctx, v, out.options);
     }},
    {"certResolver", [&](const Item& v) {
       out.cert_resolver_loc = v.loc(ctx);
       walk::get_string(ctx, v, out.cert_resolver);
     }},
    {"domains", [&](const Item& v) { parse_cert_domains(ctx, v, out); }},
  });
}

void parse_entry_points(Ctx& ctx, const Item& v, Router& r) {
  if (!walk::get_string_list(ctx, v, r.entry_points)) return;
  for (std::size_t i = 0; i < r.entry_points.size(); ++i) r.entry_point_locs.push_back(ctx.loc(v.value[i]));
}

void parse_rule(Ctx& ctx, const Item& v, Router& r) {
  r.rule_loc = v.loc(ctx);
  if (walk::get_string(ctx, v, r.rule) && r.rule.find_first_not_of(" \t\r\n") == std::string::npos)
    ctx.error(r.rule_loc, v.path, "must not be empty: e.g. rule: HostSNI(`example.com`)");
}

void parse_rule_syntax(Ctx& ctx, const Item& v, Router& r) {
  r.rule_syntax_loc = v.loc(ctx);
  if (walk::get_string(ctx, v, r.rule_syntax) && r.rule_syntax != "v2" && r.rule_syntax != "v3")
    ctx.error(r.rule_syntax_loc, v.path, "must be v2 or v3, not \"" + r.rule_syntax + "\"");
}

void parse_service_name(Ctx& ctx, const Item& v, Router& r) {
  r.service_loc = v.loc(ctx);
  if (walk::get_string(ctx, v, r.service) && r.service.empty())
    ctx.error(r.service_loc, v.path, "must not be empty: name a service of tcp.services");
}

// The mysql and postgres sections: where they were written (for errors about
// the router's other settings) and their one key.
void parse_database_section(Ctx& ctx, const Item& v, Loc& loc, bool& allow_plaintext) {
  loc = v.loc(ctx);
  walk::walk_map(ctx, v, {
    {"allowPlaintext", [&](const Item& a) { walk::get_bool(ctx, a, allow_plaintext); }},
  });
}

// The names are resolved by validate(), once every file is read.
void parse_middleware_names(Ctx& ctx, const Item& v, Router& r) {
  if (!walk::get_string_list(ctx, v, r.middlewares)) return;
  for (std::size_t i = 0; i < r.middlewares.size(); ++i) r.middleware_locs.push_back(ctx.loc(v.value[i]));
}

void parse_router(Ctx& ctx, const std::string& name, const Item& it, Dynamic& out) {
  Router r;
  r.name = name;
  r.loc = it.loc(ctx);
  r.fingerprint = fingerprint(it.value);
  if (r.fingerprint != 0 && r.fingerprint == ctx.lent_fingerprint(name)) {
    r.reused = true;
    out.routers[name] = std::move(r);
    return;
  }
  bool has_rule = false;
  bool has_service = false;
  bool is_map = walk::walk_map(ctx, it, {
    {"entryPoints", [&](const Item& v) { parse_entry_points(ctx, v, r); }},
    {"rule", [&](const Item& v) { has_rule = true; parse_rule(ctx, v, r); }},
    {"priority", [&](const Item& v) {
       int p = 0;
       if (walk::get_int(ctx, v, p)) r.priority = p;
     }},
    {"service", [&](const Item& v) { has_service = true; parse_service_name(ctx, v, r); }},
    {"tls", [&](const Item& v) { parse_router_tls(ctx, v, r.tls.emplace()); }},
    {"mysql", [&](const Item& v) { parse_database_section(ctx, v, r.mysql_loc, r.mysql_allow_plaintext); }},
    {"postgres", [&](const Item& v) { parse_database_section(ctx, v, r.postgres_loc, r.postgres_allow_plaintext); }},
    {"middlewares", [&](const Item& v) { parse_middleware_names(ctx, v, r); }},
    {"ruleSyntax", [&](const Item& v) { parse_rule_syntax(ctx, v, r); }},
    {"idleTimeout", [&](const Item& v) {
       Duration d{};
       if (walk::get_duration(ctx, v, d)) r.idle_timeout = d;
     }},
  });
  if (!is_map) return;
  if (!has_rule) ctx.error(r.loc, it.path + ".rule", "is required: e.g. rule: HostSNI(`example.com`)");
  if (!has_service) ctx.error(r.loc, it.path + ".service", "is required: name a service of tcp.services");
  out.routers[name] = std::move(r);
}

// proxyProtocol: {version: 1|2}; an empty map means 2 (Traefik's default).
void parse_proxy_protocol_out(Ctx& ctx, const Item& it, int& version) {
  version = 2;
  walk::walk_map(ctx, it, {
    {"version", [&](const Item& v) {
       int n = 0;
       if (!walk::get_int(ctx, v, n)) return;
       if (n == 1 || n == 2) version = n;
       else ctx.error(v.loc(ctx), v.path, fmt::format("PROXY protocol version {} does not exist: use 1 or 2", n));
     }},
  });
}

void parse_server(Ctx& ctx, const Item& it, Service& svc) {
  Server s;
  s.loc = it.loc(ctx);
  bool has_address = false;
  if (!walk::walk_map(ctx, it, {
        {"address", [&](const Item& v) {
           has_address = true;
           if (!walk::get_string(ctx, v, s.address)) return;
           if (std::string why = walk::check_address(s.address, false); !why.empty())
             ctx.error(v.loc(ctx), v.path, why);
         }},
        {"tls", [&](const Item& v) { walk::get_bool(ctx, v, s.tls); }},
      }))
    return;
  if (!has_address) ctx.error(s.loc, it.path + ".address", "is required: host:port of the server");
  svc.servers.push_back(std::move(s));
}

void parse_load_balancer(Ctx& ctx, const Item& it, Service& svc) {
  Item servers_item;
  walk::walk_map(ctx, it, {
    {"servers", [&](const Item& v) {
       servers_item = v;
       walk::for_each_element(ctx, v, [&](const Item& e) { parse_server(ctx, e, svc); });
     }},
    {"serversTransport", [&](const Item& v) {
       svc.servers_transport_loc = v.loc(ctx);
       walk::get_string(ctx, v, svc.servers_transport);
     }},
    walk::ignored(ctx, "terminationDelay",
                  "deprecated since Traefik v3: set terminationDelay on a tcp.serversTransports entry"),
    {"proxyProtocol", [&](const Item& v) {
       ctx.warn(v.loc(ctx), v.path,
                "deprecated (as in Traefik v3): set proxyProtocol on the service's serversTransport; this one is "
                "used, and wins over the transport's");
       parse_proxy_protocol_out(ctx, v, svc.proxy_protocol_version);
     }},
    {"healthCheck", [&](const Item& v) { parse_health_check(ctx, v, svc.health_check.emplace()); }},
    {"passiveHealthCheck", [&](const Item& v) { parse_passive_health_check(ctx, v, svc.passive); }},
  });
  if (svc.servers.empty() && (!servers_item.value.defined() || servers_item.is_null() ||
                              (servers_item.value.is_list() && servers_item.value.size() == 0)))
    ctx.error(servers_item.value.defined() ? servers_item.loc(ctx) : it.loc(ctx), it.path + ".servers",
              "the service has no servers: give at least one {address: host:port}");
}

void parse_service(Ctx& ctx, const std::string& name, const Item& it, Dynamic& out) {
  Service svc;
  svc.name = name;
  svc.loc = it.loc(ctx);
  bool has_lb = false;
  bool weighted = false;
  bool is_map = walk::walk_map(ctx, it, {
    {"loadBalancer", [&](const Item& v) {
       has_lb = true;
       parse_load_balancer(ctx, v, svc);
     }},
    {"weighted", [&](const Item& v) {
       weighted = true;
       parse_weighted(ctx, v, svc);
     }},
  });
  if (!is_map) return;
  if (!has_lb && !weighted)
    ctx.error(svc.loc, it.path + ".loadBalancer",
              "is required: a service is a loadBalancer with servers, or weighted with services");
  if (has_lb && weighted)
    ctx.error(svc.loc, it.path + ".weighted", "a service is either a loadBalancer or weighted, not both");
  out.services[name] = std::move(svc);
}

}  // namespace

void parse_cert_files(Ctx& ctx, const Item& it, CertFiles& out, const Key* extra) {
  out.loc = it.loc(ctx);
  bool has_cert = false;
  bool has_key = false;
  std::vector<Key> keys{
      {"certFile", [&](const Item& v) { has_cert = true; walk::get_file(ctx, v, out.cert_file); }},
      {"keyFile", [&](const Item& v) { has_key = true; walk::get_file(ctx, v, out.key_file); }},
  };
  if (extra) keys.push_back(*extra);
  if (!walk::walk_map(ctx, it, keys)) return;
  if (!has_cert) ctx.error(out.loc, it.path + ".certFile", "is required: a PEM file or inline PEM");
  if (!has_key) ctx.error(out.loc, it.path + ".keyFile", "is required: a PEM file or inline PEM");
}

void parse_transport(Ctx& ctx, const Item& it, ServersTransport& out) {
  out.loc = it.loc(ctx);
  walk::walk_map(ctx, it, {
    {"dialTimeout", [&](const Item& v) { walk::get_duration(ctx, v, out.dial_timeout); }},
    // Negative: keep-alive off (as in Traefik).
    {"dialKeepAlive", [&](const Item& v) { walk::get_duration(ctx, v, out.dial_keep_alive, true); }},
    // Negative: no limit (as in Traefik).
    {"terminationDelay", [&](const Item& v) { walk::get_duration(ctx, v, out.termination_delay, true); }},
    {"tls", [&](const Item& t) {
       walk::walk_map(ctx, t, {
         {"serverName", [&](const Item& v) { walk::get_string(ctx, v, out.server_name); }},
         {"insecureSkipVerify", [&](const Item& v) { walk::get_bool(ctx, v, out.insecure_skip_verify); }},
         {"rootCAs", [&](const Item& v) { walk::get_file_list(ctx, v, out.root_cas); }},
         {"certificates", [&](const Item& v) {
            walk::for_each_element(ctx, v, [&](const Item& e) {
              CertFiles c;
              parse_cert_files(ctx, e, c);
              out.certificates.push_back(std::move(c));
            });
          }},
         walk::rejected(ctx, "peerCertURI", "peerCertURI is not supported yet"),
         walk::rejected(ctx, "spiffe", "SPIFFE is not supported"),
       });
     }},
    walk::rejected(ctx, "spiffe", "SPIFFE is not supported"),
    {"proxyProtocol", [&](const Item& v) { parse_proxy_protocol_out(ctx, v, out.proxy_protocol_version); }},
  });
}

// Routers are walked apart from each other, so with thousands a second
// thread takes the second half, into a context and a map of its own; the
// result, errors and warnings in order, is that of one walk.
void parse_routers(Ctx& ctx, const Item& v, Dynamic& out) {
  const std::optional<std::vector<walk::Named>> entries = walk::named_entries(ctx, v);
  if (!entries) return;
  constexpr std::size_t kSplitFrom = 5'000;
  const std::vector<walk::Named>& all = *entries;
  if (all.size() < kSplitFrom) {
    for (const walk::Named& e : all) parse_router(ctx, e.name, e.item, out);
    return;
  }
  const std::size_t half = all.size() / 2;
  std::vector<Error> errors, warnings;
  Ctx second = ctx.fork(errors, warnings);
  Dynamic second_out;
  std::thread helper([&] {
    for (std::size_t i = half; i < all.size(); ++i) parse_router(second, all[i].name, all[i].item, second_out);
  });
  for (std::size_t i = 0; i < half; ++i) parse_router(ctx, all[i].name, all[i].item, out);
  helper.join();
  ctx.join(second);
  out.routers.merge(second_out.routers);
  // A name another file has set already is replaced, as the walk in order does.
  for (auto& [name, r] : second_out.routers) out.routers[name] = std::move(r);
}

void parse_tcp(Ctx& ctx, const Item& it, Dynamic& out) {
  walk::walk_map(ctx, it, {
    {"routers", [&](const Item& v) { parse_routers(ctx, v, out); }},
    {"services", [&](const Item& v) {
       walk::for_each_entry(ctx, v, [&](const std::string& n, const Item& e) { parse_service(ctx, n, e, out); });
     }},
    {"serversTransports", [&](const Item& v) {
       walk::for_each_entry(ctx, v, [&](const std::string& n, const Item& e) {
         ServersTransport st;
         st.name = n;
         parse_transport(ctx, e, st);
         out.servers_transports[n] = std::move(st);
       });
     }},
    {"middlewares", [&](const Item& v) {
       walk::for_each_entry(ctx, v, [&](const std::string& n, const Item& e) { parse_middleware(ctx, n, e, out); });
     }},
  });
}

}  // namespace snigate::config::detail
