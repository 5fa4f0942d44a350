// The configuration used when none is given: TLS on 127.0.0.1:8443 for any
// name, answered by the built-in whoami service.
#include "config/config.hpp"

namespace snigate::config {

Loaded builtin_default() {
  Loaded out;
  EntryPoint ep;
  ep.name = "default";
  ep.address = "127.0.0.1:8443";
  out.stat.entry_points.emplace(ep.name, ep);

  Router r;
  r.name = "default";
  r.rule = "HostSNI(`*`)";
  r.service = "whoami@internal";
  r.tls = RouterTls{};
  out.dyn.routers.emplace(r.name, r);
  return out;
}

}  // namespace snigate::config
