#include "balance/health_report.hpp"

#include <fmt/format.h>

namespace snigate::balance {

namespace {

// Text as a user would write it in YAML's double quotes: "PING\r\n".
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '"' || c == '\\') out += std::string("\\") + c;
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else out += c;
  }
  return out + "\"";
}

}  // namespace

std::string HealthCheck::describe() const {
  std::string what = protocol == CheckProtocol::mysql      ? "MySQL greeting"
                     : protocol == CheckProtocol::postgres ? "PostgreSQL SSLRequest"
                     : tls                                 ? "TLS handshake"
                                                           : "TCP connect";
  if (!send.empty()) what += ", send " + quoted(send);
  if (!expect.empty()) what += ", expect " + quoted(expect);
  if (port != 0) what += fmt::format(" on port {}", port);
  return fmt::format("{}, every {} ms ({} ms while down), timeout {} ms", what, interval.count(),
                     unhealthy_interval.count(), timeout.count());
}

std::size_t count_usable(const Service& lb, Nanos now) {
  std::size_t n = 0;
  for (const Server& s : lb.servers) n += looks_usable(*s.health, now);
  return n;
}

bool service_usable(const Service& svc, Nanos now) {
  if (svc.children.empty()) return svc.whoami || count_usable(svc, now) > 0;
  for (std::size_t i = 0; i < svc.children.size(); ++i)
    if (svc.weights[i] > 0 && service_usable(*svc.children[i], now)) return true;
  return false;
}

namespace {

// One server's state in words: "up", "DOWN (health check: ...)", ...
std::string server_state(const Service& lb, const Server& s, Nanos now) {
  const ServerHealth& h = *s.health;
  if (!h.checked_up.load(std::memory_order_relaxed)) return fmt::format("DOWN (health check: {})", h.reason());
  const Nanos until = h.out_until.load(std::memory_order_relaxed);
  if (until > now)
    return fmt::format("OUT (passive health: {} failed connection(s) in a row, the last: {}; tried again in {} ms)",
                       h.failures.load(std::memory_order_relaxed), h.dial_error(), (until - now) / 1'000'000 + 1);
  std::string state = "up";
  if (lb.health_check)
    state += h.checked.load(std::memory_order_relaxed) ? " (health check passed)" : " (not checked yet)";
  if (until != 0) state += " (passive downtime over: the next connection tries it)";
  return state;
}

}  // namespace

std::string down_detail(const Service& svc) {
  if (!svc.children.empty())
    return fmt::format("every service of weighted service {} is down (its healthCheck skips children without a "
                       "usable server)", svc.name);
  std::string each;
  bool checked = false;
  const Nanos now = steady_now();
  for (const Server& s : svc.servers) {
    checked |= !s.health->checked_up.load(std::memory_order_relaxed);
    each += fmt::format("{}{}: {}", each.empty() ? "" : "; ", s.address, server_state(svc, s, now));
  }
  return fmt::format("every server of service {} is down ({}: {})", svc.name,
                     checked ? "health check" : "passive health", each);
}

namespace {

void explain_load_balancer(const Service& lb, Nanos now, std::string& out) {
  const std::size_t n = lb.servers.size();
  out += fmt::format("service {}: load balancer, round robin over {} server(s){}\n", lb.name, n,
                     lb.health_check ? "; health check: " + lb.health_check->describe() : "");
  out += lb.passive.failures > 0
             ? fmt::format("  passive health: out for {} ms after {} failed connection(s) in a row\n",
                           lb.passive.downtime.count(), lb.passive.failures)
             : "  passive health: off\n";
  const std::size_t first = n == 0 ? 0 : lb.next.load(std::memory_order_relaxed) % n;
  const Server* pick = nullptr;
  for (std::size_t i = 0; i < n && !pick; ++i)
    if (looks_usable(*lb.servers[(first + i) % n].health, now)) pick = &lb.servers[(first + i) % n];
  for (std::size_t i = 0; i < n; ++i)
    out += fmt::format("  {} {}: {}\n", &lb.servers[i] == pick ? "->" : "  ", lb.servers[i].address,
                       server_state(lb, lb.servers[i], now));
  out += pick ? fmt::format("  next: {} (its round-robin turn{})\n", pick->address,
                            &lb.servers[first] == pick ? "" : ", after skipping the servers that are down")
              : fmt::format("  next: none: {}\n", down_detail(lb));
}

}  // namespace

std::string explain_choice(const Service& svc, Nanos now) {
  std::string out;
  const Service* s = &svc;
  while (!s->children.empty()) {
    const std::size_t n = s->children.size();
    auto eligible = std::make_unique<bool[]>(n);
    for (std::size_t i = 0; i < n; ++i) eligible[i] = !s->skip_down_children || service_usable(*s->children[i], now);
    const std::size_t pick = s->wrr.peek(s->weights, std::span<const bool>(eligible.get(), n));
    out += fmt::format("service {}: weighted (smooth weighted round robin{})\n", s->name,
                       s->skip_down_children ? "; healthCheck: children without a usable server are skipped" : "");
    for (std::size_t i = 0; i < n; ++i)
      out += fmt::format("  {} {} weight {}{}\n", i == pick ? "->" : "  ", s->children[i]->name, s->weights[i],
                         eligible[i] ? "" : " (skipped: every server is down)");
    if (pick == kNoPick) {
      out += fmt::format("  next: none: {}\n", down_detail(*s));
      return out;
    }
    s = s->children[pick];
  }
  if (s->whoami) return out + fmt::format("service {}: answered by snigate itself\n", s->name);
  explain_load_balancer(*s, now, out);
  return out;
}

}  // namespace snigate::balance
