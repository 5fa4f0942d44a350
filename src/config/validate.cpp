// Cross references between the parts of a merged configuration: a router's
// service, entry points and TLS options, a service's servers transport.
#include <fmt/core.h>

#include "config/loader.hpp"

namespace snigate::config::detail {

namespace {

// "name@file" is "name"; other provider suffixes stay.
void strip_file_provider(std::string& name) {
  constexpr std::string_view suffix = "@file";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    name.resize(name.size() - suffix.size());
}

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
  strip_file_provider(r.service);
  std::string path = fmt::format("tcp.routers.{}.service", r.name);
  if (auto at = r.service.rfind('@'); at != std::string::npos) {
    std::string provider = r.service.substr(at + 1);
    if (provider == "internal") {
      if (r.service != "whoami@internal")
        errors.push_back(Error{r.service_loc, path,
                               fmt::format("unknown internal service \"{}\": the only one is whoami@internal", r.service)});
    } else {
      errors.push_back(Error{r.service_loc, path,
                             fmt::format("service \"{}\" names provider \"{}\": snigate has only @file and @internal",
                                         r.service, provider)});
    }
    return;
  }
  if (!dyn.services.count(r.service))
    errors.push_back(Error{r.service_loc, path, unknown("service", r.service, dyn.services, "tcp.services")});
}

}  // namespace

void validate(const Static& stat, Dynamic& dyn, std::vector<Error>& errors, std::vector<Error>& warnings) {
  for (auto& [name, r] : dyn.routers) {
    check_service(r, dyn, errors);
    for (std::size_t i = 0; i < r.entry_points.size(); ++i) {
      strip_file_provider(r.entry_points[i]);  // harmless; Traefik does not write it there
      if (stat.entry_points.count(r.entry_points[i])) continue;
      Loc at = i < r.entry_point_locs.size() ? r.entry_point_locs[i] : r.loc;
      errors.push_back(Error{at, fmt::format("tcp.routers.{}.entryPoints[{}]", name, i),
                             unknown("entry point", r.entry_points[i], stat.entry_points, "entryPoints")});
    }
    if (!r.tls) continue;
    std::string& opts = r.tls->options;
    strip_file_provider(opts);
    std::string path = fmt::format("tcp.routers.{}.tls.options", name);
    if (!opts.empty() && r.tls->passthrough)
      warnings.push_back(Error{r.tls->options_loc, path,
                               "unused: with passthrough the server terminates TLS, not snigate"});
    if (!opts.empty() && opts != "default" && !dyn.tls_options.count(opts))
      errors.push_back(Error{r.tls->options_loc, path, unknown("TLS options", opts, dyn.tls_options, "tls.options")});
  }
  for (auto& [name, s] : dyn.services) {
    strip_file_provider(s.servers_transport);
    const std::string& t = s.servers_transport;
    if (t.empty() || t == "default" || dyn.servers_transports.count(t)) continue;
    errors.push_back(Error{s.servers_transport_loc, fmt::format("tcp.services.{}.loadBalancer.serversTransport", name),
                           unknown("servers transport", t, dyn.servers_transports, "tcp.serversTransports")});
  }
}

}  // namespace snigate::config::detail
