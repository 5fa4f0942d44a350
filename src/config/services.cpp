// The parts of tcp.services beyond servers: loadBalancer.healthCheck and
// passiveHealthCheck, weighted services, and the checks that need every
// service (unknown children, cycles).
#include <fmt/core.h>

#include <algorithm>
#include <functional>
#include <set>

#include "config/loader.hpp"

namespace snigate::config::detail {

using walk::Ctx;
using walk::Item;

namespace {

// A duration that must be above zero: a probe every 0 s would spin.
void get_positive_duration(Ctx& ctx, const Item& v, Duration& out) {
  Duration d{};
  if (!walk::get_duration(ctx, v, d)) return;
  if (d.count() <= 0) ctx.error(v.loc(ctx), v.path, "must be above zero, e.g. 10s");
  else out = d;
}

void parse_check_port(Ctx& ctx, const Item& v, HealthCheck& hc) {
  int port = 0;
  if (!walk::get_int(ctx, v, port)) return;
  if (port < 1 || port > 65535) ctx.error(v.loc(ctx), v.path, fmt::format("{} is not a TCP port (1 to 65535)", port));
  else hc.port = port;
}

void parse_check_protocol(Ctx& ctx, const Item& v, HealthCheck& hc) {
  std::string p;
  if (!walk::get_string(ctx, v, p)) return;
  if (p != "mysql" && p != "postgres")
    ctx.error(v.loc(ctx), v.path, fmt::format("must be mysql or postgres, not \"{}\"", p));
  else hc.protocol = p;
}

// Settings that cannot go together: a database check speaks first itself.
void check_health_combination(Ctx& ctx, const Item& it, const HealthCheck& hc) {
  if (!hc.protocol.empty() && (!hc.send.empty() || !hc.expect.empty()))
    ctx.error(hc.loc, it.path + ".protocol",
              fmt::format("cannot be combined with send or expect: the {} check writes and reads itself", hc.protocol));
  if (!hc.protocol.empty() && hc.tls)
    ctx.error(hc.loc, it.path + ".tls",
              fmt::format("cannot be combined with protocol {}: a database starts TLS inside its own protocol",
                          hc.protocol));
}

}  // namespace

void parse_health_check(Ctx& ctx, const Item& it, HealthCheck& hc) {
  hc.loc = it.loc(ctx);
  if (!walk::walk_map(ctx, it, {
        {"port", [&](const Item& v) { parse_check_port(ctx, v, hc); }},
        {"send", [&](const Item& v) { walk::get_string(ctx, v, hc.send); }},
        {"expect", [&](const Item& v) { walk::get_string(ctx, v, hc.expect); }},
        {"interval", [&](const Item& v) { get_positive_duration(ctx, v, hc.interval); }},
        {"unhealthyInterval", [&](const Item& v) { get_positive_duration(ctx, v, hc.unhealthy_interval.emplace()); }},
        {"timeout", [&](const Item& v) { get_positive_duration(ctx, v, hc.timeout); }},
        {"tls", [&](const Item& v) { walk::get_bool(ctx, v, hc.tls); }},
        {"protocol", [&](const Item& v) { parse_check_protocol(ctx, v, hc); }},
      }))
    return;
  if (hc.unhealthy_interval && hc.unhealthy_interval->count() <= 0) hc.unhealthy_interval.reset();
  check_health_combination(ctx, it, hc);
}

void parse_passive_health_check(Ctx& ctx, const Item& it, PassiveHealthCheck& p) {
  walk::walk_map(ctx, it, {
    {"failures", [&](const Item& v) {
       int n = 0;
       if (!walk::get_int(ctx, v, n)) return;
       if (n < 0) ctx.error(v.loc(ctx), v.path, "must be 0 (off) or more");
       else p.failures = n;
     }},
    {"downtime", [&](const Item& v) { get_positive_duration(ctx, v, p.downtime); }},
  });
}

void parse_weighted(Ctx& ctx, const Item& it, Service& svc) {
  svc.weighted = true;
  Item list;
  if (!walk::walk_map(ctx, it, {
        {"services", [&](const Item& v) {
           list = v;
           walk::for_each_element(ctx, v, [&](const Item& e) {
             WeightedChild c;
             c.loc = e.loc(ctx);
             bool has_name = false;
             if (!walk::walk_map(ctx, e, {
                   {"name", [&](const Item& n) { has_name = walk::get_string(ctx, n, c.name) && !c.name.empty(); }},
                   {"weight", [&](const Item& w) {
                      if (walk::get_int(ctx, w, c.weight) && c.weight < 0)
                        ctx.error(w.loc(ctx), w.path, "must be 0 or more");
                    }},
                 }))
               return;
             if (!has_name) ctx.error(c.loc, e.path + ".name", "is required: the name of a service of tcp.services");
             else svc.children.push_back(std::move(c));
           });
         }},
        {"healthCheck", [&](const Item& v) {
           svc.weighted_health_check = true;
           walk::walk_map(ctx, v, std::span<const walk::Key>());  // Traefik's weighted healthCheck has no keys
         }},
      }))
    return;
  const bool any_weight = std::ranges::any_of(svc.children, [](const WeightedChild& c) { return c.weight > 0; });
  if (svc.children.empty() && (!list.value.defined() || list.is_null() || list.value.is_list()))
    ctx.error(list.value.defined() ? list.loc(ctx) : it.loc(ctx), it.path + ".services",
              "a weighted service needs at least one {name: service, weight: N}");
  else if (!svc.children.empty() && !any_weight)
    ctx.error(it.loc(ctx), it.path + ".services", "every weight is 0: no connection could be sent anywhere");
}

namespace {

std::string child_path(const std::string& service, std::size_t i) {
  return fmt::format("tcp.services.{}.weighted.services[{}].name", service, i);
}

// "name@file" is "name", "name@etcd" stays; a child is a service of tcp.services.
void resolve_child(const std::string& service, std::size_t i, WeightedChild& c, const Dynamic& dyn,
                   std::vector<Error>& errors) {
  if (std::string wrong = normalize_provider(c.name); !wrong.empty()) {
    errors.push_back(Error{c.loc, child_path(service, i), std::move(wrong)});
    return;
  }
  if (dyn.services.count(c.name)) return;
  std::vector<std::string_view> names;
  for (const auto& [n, unused] : dyn.services) names.push_back(n);
  std::string msg = fmt::format("unknown service \"{}\"", c.name);
  if (std::string hint = walk::did_you_mean(c.name, names); !hint.empty())
    msg += fmt::format(" (did you mean \"{}\"?)", hint);
  errors.push_back(Error{c.loc, child_path(service, i), msg});
}

// Depth-first from each weighted service; a child already on the path closes
// a cycle, reported once at the entry that closes it.
void find_cycles(const Dynamic& dyn, std::vector<Error>& errors) {
  std::set<std::string> done;
  std::vector<std::string> path;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    const auto it = dyn.services.find(name);
    if (it == dyn.services.end() || done.count(name)) return;
    path.push_back(name);
    const auto& children = it->second.children;
    for (std::size_t i = 0; i < children.size(); ++i) {
      const auto on_path = std::ranges::find(path, children[i].name);
      if (on_path == path.end()) {
        visit(children[i].name);
        continue;
      }
      std::string loop;
      for (auto p = on_path; p != path.end(); ++p) loop += *p + " -> ";
      errors.push_back(Error{children[i].loc, child_path(name, i),
                             fmt::format("\"{}\" makes a cycle ({}{}): a weighted service cannot contain itself",
                                         children[i].name, loop, children[i].name)});
    }
    path.pop_back();
    done.insert(name);
  };
  for (const auto& [name, s] : dyn.services)
    if (s.weighted) visit(name);
}

}  // namespace

void validate_services(Dynamic& dyn, std::vector<Error>& errors) {
  for (auto& [name, s] : dyn.services)
    for (std::size_t i = 0; i < s.children.size(); ++i) resolve_child(name, i, s.children[i], dyn, errors);
  find_cycles(dyn, errors);  // an unknown child is skipped there
}

}  // namespace snigate::config::detail
