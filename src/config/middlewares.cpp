// tcp.middlewares.<name>: ipAllowList, inFlightConn (Traefik's TCP
// middlewares) and rateLimit (snigate's). A middleware restricts who may
// connect, so anything doubtful in one is an error, never a warning.
#include <fmt/format.h>

#include <variant>

#include "config/loader.hpp"
#include "rule/ip_range.hpp"

namespace snigate::config::detail {

using walk::Ctx;
using walk::Item;

namespace {

constexpr std::string_view kKinds = "ipAllowList, inFlightConn or rateLimit";

void parse_source_range(Ctx& ctx, const Item& v, Middleware& m) {
  if (!walk::get_string_list(ctx, v, m.source_range)) return;
  if (m.source_range.empty()) {
    ctx.error(v.loc(ctx), v.path,
              "must not be empty: an allow list without ranges would refuse every client; give addresses or CIDR "
              "blocks, e.g. [10.0.0.0/8, \"2001:db8::/32\"]");
    return;
  }
  for (std::size_t i = 0; i < m.source_range.size(); ++i) {
    auto parsed = rule::parse_ip_range(m.source_range[i]);
    if (auto* why = std::get_if<std::string>(&parsed))
      ctx.error(ctx.loc(v.value[i]), fmt::format("{}[{}]", v.path, i), *why);
  }
}

void parse_ip_allow_list(Ctx& ctx, const Item& it, Middleware& m) {
  m.kind = MiddlewareKind::ip_allow_list;
  bool has_range = false;
  if (!walk::walk_map(ctx, it, {
        {"sourceRange", [&](const Item& v) { has_range = true; parse_source_range(ctx, v, m); }},
        walk::rejected(ctx, "ipStrategy",
                       "ipStrategy is for HTTP (X-Forwarded-For); a TCP allow list checks the client's address"),
      }))
    return;
  if (!has_range)
    ctx.error(it.loc(ctx), it.path + ".sourceRange", "is required: the addresses or CIDR blocks that may connect");
}

// A count that must not be negative; `what` says what it counts.
void get_count(Ctx& ctx, const Item& v, int& out, std::string_view what) {
  int n = 0;
  if (!walk::get_int(ctx, v, n)) return;
  if (n < 0) ctx.error(v.loc(ctx), v.path, fmt::format("must not be negative ({}), not {}", what, n));
  else out = n;
}

void parse_in_flight_conn(Ctx& ctx, const Item& it, Middleware& m) {
  m.kind = MiddlewareKind::in_flight_conn;
  bool has_amount = false;
  if (!walk::walk_map(ctx, it, {
        {"amount", [&](const Item& v) {
           has_amount = true;
           get_count(ctx, v, m.amount, "open connections per client IP; 0 refuses every client");
         }},
      }))
    return;
  if (!has_amount)
    ctx.error(it.loc(ctx), it.path + ".amount", "is required: the open connections allowed per client IP");
}

void parse_rate_limit(Ctx& ctx, const Item& it, Middleware& m) {
  m.kind = MiddlewareKind::rate_limit;
  Item burst_item;
  if (!walk::walk_map(ctx, it, {
        {"average", [&](const Item& v) { get_count(ctx, v, m.average, "new connections per period"); }},
        {"burst", [&](const Item& v) {
           burst_item = v;
           get_count(ctx, v, m.burst, "connections at once above the average");
         }},
        {"period", [&](const Item& v) {
           if (walk::get_duration(ctx, v, m.period) && m.period.count() <= 0)
             ctx.error(v.loc(ctx), v.path, "must be longer than 0, e.g. 1s or 1m");
         }},
        walk::rejected(ctx, "sourceCriterion",
                       "sourceCriterion is for HTTP; a TCP rate limit counts per client IP"),
      }))
    return;
  if (burst_item.value.defined() && m.burst == 0 && m.average > 0)
    ctx.error(burst_item.loc(ctx), burst_item.path,
              "must be at least 1: a bucket of 0 lets no connection through (to refuse every client, use "
              "inFlightConn with amount 0); leave it out for a burst equal to average");
  if (m.average == 0)
    ctx.warn(it.loc(ctx), it.path + ".average", "is 0 (or not set): this rateLimit limits nothing (as in Traefik)");
  if (m.burst == 0) m.burst = m.average;
}

}  // namespace

void parse_middleware(Ctx& ctx, const std::string& name, const Item& it, Dynamic& out) {
  Middleware m;
  m.name = name;
  m.loc = it.loc(ctx);
  std::vector<std::string> kinds;
  auto kind = [&](std::string_view key, void (*parse)(Ctx&, const Item&, Middleware&)) {
    return walk::Key{key, [&, key, parse](const Item& v) {
                       kinds.emplace_back(key);
                       parse(ctx, v, m);
                     }};
  };
  bool is_map = walk::walk_map(ctx, it, {
    kind("ipAllowList", parse_ip_allow_list),
    {"ipWhiteList", [&](const Item& v) {
       ctx.warn(v.loc(ctx), v.path, "deprecated since Traefik v3: write ipAllowList (it means the same)");
       kinds.emplace_back("ipWhiteList");
       parse_ip_allow_list(ctx, v, m);
     }},
    kind("inFlightConn", parse_in_flight_conn),
    kind("rateLimit", parse_rate_limit),
  });
  if (!is_map) return;
  if (kinds.empty())
    ctx.error(m.loc, "tcp.middlewares." + name,
              fmt::format("has no type: give one of {}", kKinds));
  else if (kinds.size() > 1)
    ctx.error(m.loc, "tcp.middlewares." + name,
              fmt::format("has {} types ({}): a middleware is exactly one of {}; define one middleware per type "
                          "and list them in the router's middlewares",
                          kinds.size(), fmt::join(kinds, ", "), kKinds));
  out.middlewares[name] = std::move(m);
}

}  // namespace snigate::config::detail
