#include "session/middlewares.hpp"

#include <fmt/format.h>

#include "observe/log.hpp"
#include "observe/log_throttle.hpp"
#include "observe/metrics.hpp"

namespace snigate::session {
namespace {

using policy::Kind;

// A client refused once is often refused many times a second (a scanner, a
// reconnect loop): the log gets one line per kind per second, and the next
// line says how many it held back. The access log has every one.
observe::LogThrottle& throttle_for(Kind k) {
  static observe::LogThrottle throttles[3] = {observe::LogThrottle(std::chrono::seconds(1)),
                                              observe::LogThrottle(std::chrono::seconds(1)),
                                              observe::LogThrottle(std::chrono::seconds(1))};
  return throttles[static_cast<int>(k)];
}

void log_refusal(const Conn& c, const Refusal& r, Kind k) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  std::uint64_t held = 0;
  if (!throttle_for(k).pass(observe::LogThrottle::Clock::now(), held)) return;
  spdlog::info("{}: {}{}", c.rec.client, observe::printable(r.message),
               held ? fmt::format(" ({} more {} refusals since the last line)", held, policy::kind_name(k)) : "");
}

}  // namespace

Refusal middleware_refusal(const Route& r, const policy::Middleware& m) {
  const std::string who = fmt::format("router {}: middleware {} ({})", r.name, m.name, policy::kind_name(m.kind));
  switch (m.kind) {
    case Kind::ip_allow_list:
      return {Cause::not_allowed, "denied", who + " does not allow this client's address", "", spdlog::level::off};
    case Kind::in_flight_conn:
      // amount 0 refuses everyone: no open connection of this client is to blame.
      return {Cause::too_many, "denied",
              who + (m.amount == 0 ? " admits no connection"
                                   : ": too many open connections from this client's address"),
              "", spdlog::level::off};
    case Kind::rate_limit: break;
  }
  return {Cause::too_many, "denied", who + ": too many new connections from this client's address", "try again later",
          spdlog::level::off};
}

Refused run_middlewares(Conn& c, const Route& r) {
  if (r.middlewares.empty()) return std::nullopt;
  if (!c.facts.client_ip) {  // never so in serve(); a chain cannot pass a client it cannot place
    Refusal no_ip(Cause::not_allowed, "denied", fmt::format("router {}: the client's address is unknown", r.name));
    return no_ip;
  }
  std::vector<policy::InFlightTicket> tickets;
  const policy::Middleware* refused =
      policy::run_chain(r.middlewares, *c.facts.client_ip, std::chrono::steady_clock::now(), tickets);
  if (refused) {
    Refusal no = middleware_refusal(r, *refused);
    log_refusal(c, no, refused->kind);
    observe::count_middleware_refusal(refused->name, r.name, no.cause == Cause::not_allowed ? "not_allowed" : "too_many");
    return no;
  }
  if (!tickets.empty()) c.tickets = std::make_shared<std::vector<policy::InFlightTicket>>(std::move(tickets));
  return std::nullopt;
}

}  // namespace snigate::session
