#include "explain/explain.hpp"

#include <fmt/format.h>

#include "balance/health_report.hpp"
#include "explain/steps.hpp"
#include "session/no_route.hpp"

namespace snigate::explain {
namespace {

bool is_database(const session::EntryRoutes& entry) {
  return entry.ep.protocol == config::Protocol::mysql || entry.ep.protocol == config::Protocol::postgres;
}

// The server the service would take next and each server's state (explain
// runs no probe, so a check shows "not checked yet"; a running snigate has
// the checks' verdicts).
void describe_service(const session::Service& svc, Result& res) {
  const balance::Nanos now = balance::steady_now();
  res.service_choice = balance::explain_choice(svc, now);
  balance::for_each_server(svc, [&](const balance::Server& s) {
    res.servers.push_back(ServerState{s.address, balance::looks_usable(*s.health, now)});
  });
}

// A plain database login to a router that does not allow plaintext.
bool refuses_plaintext(const session::EntryRoutes& entry, const Query& q, const session::Route& r) {
  const bool mysql = entry.ep.protocol == config::Protocol::mysql;
  return q.plain && is_database(entry) && !(mysql ? r.allow_plaintext : r.pg_allow_plaintext);
}

// The outcome once a router was chosen (or none was).
void conclude(const session::EntryRoutes& entry, const Query& q, const Facts& facts, const session::Route* chosen,
              Result& res) {
  if (chosen) {
    res.middlewares = check_middlewares(*chosen, facts);
    res.refusal = middleware_refusal(*chosen, res.middlewares, facts);
    if (!res.refusal.empty()) {
      res.outcome = Outcome::refused_by_middleware;
      return;
    }
    if (chosen->service) describe_service(*chosen->service, res);
  }
  if (chosen && refuses_plaintext(entry, q, *chosen)) {
    res.outcome = Outcome::refused_plaintext;
    res.refusal = fmt::format("router {} requires TLS ({}.allowPlaintext is not set)", chosen->name,
                              entry.ep.protocol == config::Protocol::mysql ? "mysql" : "postgres");
  } else if (!chosen) {
    res.outcome = Outcome::no_match;
    res.refusal = session::explain_no_route(entry, facts);
  }
}

}  // namespace

Result explain(const session::Snapshot& snap, const Query& q) {
  Result res;
  res.query = q;
  const session::EntryRoutes* entry = pick_entry(snap, q, res.error);
  Facts facts;
  if (!entry || !see_client(*entry, q, res.client, facts, res.error)) {
    res.outcome = Outcome::bad_query;
    return res;
  }
  const session::Route* chosen = session::match(*entry, facts);
  const std::vector<bool> listed = listed_routes(*entry, facts, q.all);
  res.router_count = entry->routes.size();
  for (std::size_t i = 0; i < entry->routes.size(); ++i) {
    const session::Route& r = entry->routes[i];
    if (&r == chosen) res.routers.push_back(chosen_verdict(snap, r, res.client.sni));
    else if (listed[i]) res.routers.push_back(missed_verdict(r, facts, chosen));
    else count_unlisted(r, facts, res.unlisted);
  }
  conclude(*entry, q, facts, chosen, res);
  return res;
}

int exit_code(const Result& r) {
  switch (r.outcome) {
    case Outcome::match: return 0;
    case Outcome::bad_query: return 2;
    default: return 1;
  }
}

}  // namespace snigate::explain
