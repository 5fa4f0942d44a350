// The static keys of the admin side: api, metrics.prometheus, ping, and the
// entry point that serves them over HTTP.
#include <fmt/core.h>

#include <charconv>
#include <cmath>

#include "config/loader.hpp"

namespace snigate::config::detail {

using walk::Ctx;
using walk::Item;

namespace {

bool get_seconds(Ctx& ctx, const Item& it, double& out) {
  const std::string s(it.value.scalar());  // empty unless a scalar
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v <= 0) {
    ctx.error(it.loc(ctx), it.path, fmt::format("expected a number of seconds above 0, found {}",
                                                s.empty() ? walk::describe(it.value) : "\"" + s + "\""));
    return false;
  }
  out = v;
  return true;
}

void parse_buckets(Ctx& ctx, const Item& it, std::vector<double>& out) {
  std::vector<double> buckets;
  bool ok = true;
  walk::for_each_element(ctx, it, [&](const Item& e) {
    double v = 0;
    if (!get_seconds(ctx, e, v)) ok = false;
    else if (!buckets.empty() && v <= buckets.back()) {
      ctx.error(e.loc(ctx), e.path, fmt::format("buckets must be in ascending order: {} follows {}", v, buckets.back()));
      ok = false;
    } else buckets.push_back(v);
  });
  if (ok && buckets.empty()) ctx.error(it.loc(ctx), it.path, "must list at least one bucket (seconds)");
  else if (ok) out = std::move(buckets);
}

// Only a name here; that it exists is checked with the entry points.
void parse_entry_point_name(Ctx& ctx, const Item& it, std::string& out) {
  std::string name;
  if (!walk::get_string(ctx, it, name)) return;
  if (name.empty()) ctx.error(it.loc(ctx), it.path, "must name an entry point");
  else out = name;
}

}  // namespace

void parse_api(Ctx& ctx, const Item& it, Static& out) {
  Api api;
  api.loc = it.loc(ctx);
  walk::walk_map(ctx, it, {
    {"insecure", [&](const Item& v) { walk::get_bool(ctx, v, api.insecure); }},
    {"dashboard", [&](const Item& v) { walk::get_bool(ctx, v, api.dashboard); }},
    {"basePath", [&](const Item& v) {
       std::string p;
       if (!walk::get_string(ctx, v, p)) return;
       if (p.empty() || p[0] != '/' || p.find_first_of("?#%\\ ") != std::string::npos)
         ctx.error(v.loc(ctx), v.path, fmt::format("must be a path that starts with \"/\", found \"{}\"", p));
       else api.base_path = p.back() == '/' ? p : p + "/";
     }},
    walk::ignored(ctx, "debug", "Go's profiling endpoints are not part of snigate"),
    walk::ignored(ctx, "disableDashboardAd", "the dashboard shows no advertisement"),
  });
  out.api = std::move(api);
}

namespace {

void parse_prometheus(Ctx& ctx, const Item& it, Prometheus& p) {
  p.loc = it.loc(ctx);
  walk::walk_map(ctx, it, {
    {"entryPoint", [&](const Item& v) { parse_entry_point_name(ctx, v, p.entry_point); }},
    {"buckets", [&](const Item& v) { parse_buckets(ctx, v, p.buckets); }},
    {"addEntryPointsLabels", [&](const Item& v) { walk::get_bool(ctx, v, p.add_entry_points_labels); }},
    {"addRoutersLabels", [&](const Item& v) { walk::get_bool(ctx, v, p.add_routers_labels); }},
    {"addServicesLabels", [&](const Item& v) { walk::get_bool(ctx, v, p.add_services_labels); }},
    walk::rejected(ctx, "manualRouting",
                   "serves /metrics only through an HTTP router naming prometheus@internal, and snigate has no "
                   "HTTP routers: remove it, /metrics is served on metrics.prometheus.entryPoint"),
    walk::ignored(ctx, "headerLabels", "labels from HTTP request headers; snigate serves TCP"),
  });
}

}  // namespace

void parse_metrics(Ctx& ctx, const Item& it, Static& out) {
  constexpr std::string_view only = "only metrics.prometheus is supported";
  walk::walk_map(ctx, it, {
    {"prometheus", [&](const Item& v) {
       Prometheus p;
       parse_prometheus(ctx, v, p);
       out.prometheus = std::move(p);
     }},
    walk::ignored(ctx, "addInternals", "snigate's internal services are not counted"),
    walk::ignored(ctx, "datadog", only), walk::ignored(ctx, "statsD", only),
    walk::ignored(ctx, "influxDB2", only), walk::ignored(ctx, "otlp", only),
  });
}

void parse_ping(Ctx& ctx, const Item& it, Static& out) {
  Ping ping;
  ping.loc = it.loc(ctx);
  walk::walk_map(ctx, it, {
    {"entryPoint", [&](const Item& v) { parse_entry_point_name(ctx, v, ping.entry_point); }},
    walk::ignored(ctx, "manualRouting", "snigate has no HTTP routers; /ping is served on ping.entryPoint"),
    walk::ignored(ctx, "terminatingStatusCode", "/ping answers 503 while snigate drains"),
  });
  out.ping = std::move(ping);
}

namespace {

// An entry point the admin side needs: the one named, or "traefik" made on
// 127.0.0.1:8080 (Traefik listens on :8080; the API shows the whole routing
// table, so by default only this host sees it).
// what: "the API", "/metrics" or "/ping", for messages.
void need_admin_entry_point(Ctx& ctx, Static& out, const std::string& name, Loc at, const std::string& path,
                            const std::string& what) {
  if (auto it = out.entry_points.find(name); it != out.entry_points.end()) {
    EntryPoint& ep = it->second;
    if (ep.admin) return;
    ep.admin = true;
    if (ep.protocol != Protocol::tcp)
      ctx.error(ep.loc, "entryPoints." + name + ".protocol", "entry point " + name + " serves " + what +
                " over HTTP (" + path + "), so it cannot take another protocol; give the database its own entry point");
    if (ep.proxy_protocol)
      ctx.error(ep.proxy_protocol->loc, "entryPoints." + name + ".proxyProtocol",
                "entry point " + name + " serves " + what + " over HTTP (" + path + "), which does not read PROXY headers; "
                "remove proxyProtocol or serve the admin side on another entry point");
    if (ep.as_default)
      ctx.error(ep.loc, "entryPoints." + name + ".asDefault", "entry point " + name + " serves " + what +
                " over HTTP (" + path + ") and carries no TCP routers, so it cannot be the routers' default");
    return;
  }
  if (name != "traefik") {
    std::vector<std::string_view> known;
    for (const auto& [n, ep] : out.entry_points) known.push_back(n);
    const std::string hint = walk::did_you_mean(name, known);
    ctx.error(at, path, fmt::format("no entry point named \"{}\"{}", name, hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
    return;
  }
  EntryPoint ep;
  ep.name = name;
  ep.loc = at;
  ep.address = "127.0.0.1:8080";
  ep.admin = true;
  out.entry_points.emplace(name, std::move(ep));
}

}  // namespace

void resolve_admin_entry_points(Ctx& ctx, Static& out) {
  if (out.api && out.api->insecure) need_admin_entry_point(ctx, out, "traefik", out.api->loc, "api.insecure", "the API");
  else if (out.api)
    ctx.warn(out.api->loc, "api",
             "api.insecure is false, so the API and the dashboard are served nowhere (Traefik would need an HTTP "
             "router to api@internal, which snigate does not have): set api.insecure: true to serve them on the "
             "entry point named traefik");
  if (out.prometheus)
    need_admin_entry_point(ctx, out, out.prometheus->entry_point, out.prometheus->loc, "metrics.prometheus.entryPoint",
                           "/metrics");
  if (out.ping) need_admin_entry_point(ctx, out, out.ping->entry_point, out.ping->loc, "ping.entryPoint", "/ping");
}

}  // namespace snigate::config::detail
