// The configuration used when none is given: TLS on 127.0.0.1:8443 for any
// name, answered by the built-in whoami service; the API, the dashboard,
// /metrics and /ping on 127.0.0.1:8080.
#include "config/config.hpp"

namespace snigate::config {

Loaded builtin_default() {
  Loaded out;
  EntryPoint ep;
  ep.name = "default";
  ep.address = "127.0.0.1:8443";
  out.stat.entry_points.emplace(ep.name, ep);
  EntryPoint admin;
  admin.name = "traefik";
  admin.address = "127.0.0.1:8080";
  admin.admin = true;
  out.stat.entry_points.emplace(admin.name, admin);
  Api api;
  api.insecure = true;
  out.stat.api = api;
  out.stat.prometheus = Prometheus{};
  out.stat.ping = Ping{};

  Router r;
  r.name = "default";
  r.rule = "HostSNI(`*`)";
  r.service = "whoami@internal";
  r.tls = RouterTls{};
  out.dyn.routers.emplace(r.name, r);
  return out;
}

}  // namespace snigate::config
