// /api/entrypoints: Traefik's keys that have a TCP meaning, and snigate's
// own (protocol, timeouts) next to them.
#include "admin/api_items.hpp"

namespace snigate::admin {
namespace {

json entry_point_json(const config::EntryPoint& ep) {
  json j = {{"address", ep.address},
            {"transport",
             {{"lifeCycle",
               {{"graceTimeOut", duration(ep.grace_timeout)},
                {"requestAcceptGraceTimeout", duration(ep.accept_grace_timeout)}}},
              {"respondingTimeouts", {{"readTimeout", duration(ep.client_hello_timeout)}}}}},
            {"asDefault", ep.as_default}};
  if (ep.proxy_protocol)
    j["proxyProtocol"] = {{"insecure", ep.proxy_protocol->insecure}, {"trustedIPs", ep.proxy_protocol->trusted_ips}};
  j["protocol"] = ep.admin ? "http" : config::protocol_name(ep.protocol);
  j["tcpIdleTimeout"] = duration(ep.tcp_idle_timeout);
  j["firstByteTimeout"] = duration(ep.first_byte_timeout);
  j["reusePort"] = ep.reuse_port;
  j["name"] = ep.name;
  return j;
}

}  // namespace

std::vector<Item> entry_point_items(const config::Static& stat) {
  std::vector<Item> items;
  for (const auto& [name, ep] : stat.entry_points)
    items.push_back(Item{name, "enabled", "", "", {}, entry_point_json(ep), {}});
  return items;
}

}  // namespace snigate::admin
