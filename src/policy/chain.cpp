#include "policy/chain.hpp"

#include <algorithm>
#include <variant>

#include "policy/registry.hpp"
#include "rule/ip_range.hpp"

namespace snigate::policy {

std::unique_ptr<Middleware> build(const config::Middleware& m) {
  auto out = std::make_unique<Middleware>();
  out->name = m.name;
  out->kind = m.kind;
  switch (m.kind) {
    case Kind::ip_allow_list:
      for (const std::string& text : m.source_range) {
        auto parsed = rule::parse_ip_range(text);
        if (auto* range = std::get_if<rule::IpRange>(&parsed)) out->ranges.push_back(*range);
      }
      break;
    case Kind::in_flight_conn:
      out->amount = m.amount;
      out->in_flight = shared_in_flight(m.name);
      break;
    case Kind::rate_limit:
      out->rate = RateSpec{m.average, std::max(1, m.burst), m.period};
      out->buckets = shared_rate_buckets(m.name);
      break;
  }
  return out;
}

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::ip_allow_list: return "ipAllowList";
    case Kind::in_flight_conn: return "inFlightConn";
    case Kind::rate_limit: return "rateLimit";
  }
  return "?";
}

bool allows(std::span<const rule::IpRange> ranges, const IpAddress& ip) {
  for (const rule::IpRange& r : ranges)
    if (rule::contains(r, ip)) return true;
  return false;
}

const Middleware* run_chain(std::span<const Middleware* const> chain, const IpAddress& ip,
                            std::chrono::steady_clock::time_point now, std::vector<InFlightTicket>& tickets) {
  for (const Middleware* m : chain) {
    bool through = true;
    switch (m->kind) {
      case Kind::ip_allow_list: through = allows(m->ranges, ip); break;
      case Kind::rate_limit: through = m->buckets->take(ip, m->rate, now); break;
      case Kind::in_flight_conn:
        if (auto t = take_slot(m->in_flight, ip, m->amount)) tickets.push_back(std::move(*t));
        else through = false;
        break;
    }
    if (!through) {
      tickets.clear();  // a later refusal gives back the slots taken before it
      return m;
    }
  }
  return nullptr;
}

}  // namespace snigate::policy
