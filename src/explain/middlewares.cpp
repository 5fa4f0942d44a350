#include <fmt/format.h>

#include "explain/steps.hpp"

namespace snigate::explain {
namespace {

// "1 range", "2 ranges": a count with its noun in the number it takes.
std::string counted(long n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// What one middleware does to the client. With a client IP, whether an
// ipAllowList lets it through; counts and rates depend on the traffic, so
// they are only described.
MiddlewareCheck check(const policy::Middleware& m, const Facts& facts) {
  MiddlewareCheck c{m.name, std::string(policy::kind_name(m.kind)), "", false};
  switch (m.kind) {
    case policy::Kind::ip_allow_list: {
      if (!facts.client_ip) {
        c.what = counted(static_cast<long>(m.ranges.size()), "range", "ranges") + "; give --client-ip to check a client";
        break;
      }
      const bool in = policy::allows(m.ranges, *facts.client_ip);
      c.what = fmt::format("{} {}", facts.client_ip->to_string(), in ? "is allowed" : "is NOT in the list");
      c.refuses = !in;
      break;
    }
    case policy::Kind::in_flight_conn:
      c.what = m.amount == 0 ? "amount 0: refuses every client"
                             : "at most " + counted(m.amount, "open connection", "open connections") + " per client IP";
      c.refuses = m.amount == 0;
      break;
    case policy::Kind::rate_limit:
      c.what = m.rate.average == 0 ? "average 0: no limit"
                                   : fmt::format("{} per {} ms per client IP, burst {}",
                                                 counted(m.rate.average, "new connection", "new connections"),
                                                 m.rate.period.count(), m.rate.burst);
      break;
  }
  return c;
}

}  // namespace

std::vector<MiddlewareCheck> check_middlewares(const session::Route& r, const Facts& facts) {
  std::vector<MiddlewareCheck> checks;
  for (const policy::Middleware* m : r.middlewares) checks.push_back(check(*m, facts));
  return checks;
}

std::string middleware_refusal(const session::Route& r, const std::vector<MiddlewareCheck>& checks,
                               const Facts& facts) {
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (!checks[i].refuses) continue;
    const policy::Middleware& m = *r.middlewares[i];
    return fmt::format("router {}: middleware {} ({}) {}", r.name, m.name, checks[i].kind,
                       m.kind == policy::Kind::ip_allow_list ? "does not allow " + facts.client_ip->to_string()
                                                             : std::string("refuses every client"));
  }
  return "";
}

}  // namespace snigate::explain
