#include "balance/connect.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "balance/health_report.hpp"
#include "net/dial.hpp"
#include "net/send_all.hpp"

namespace snigate::balance {

using net::awaitable;

namespace {

// Dials with the preface in front of the early bytes, and sends what of the
// preface the connect did not take before returning: nothing else may reach
// the server first. d.sent then counts early bytes only.
awaitable<net::Dialed> dial_with_preface(net::tcp::socket& sock, const Server& server, net::Duration budget,
                                         std::span<const std::uint8_t> preface, std::span<const std::uint8_t> early,
                                         net::Duration keep_alive) {
  if (preface.empty()) co_return co_await net::dial(sock, server.at, budget, early, keep_alive);
  std::vector<std::uint8_t> first(preface.begin(), preface.end());
  first.insert(first.end(), early.begin(), early.end());
  net::Dialed d = co_await net::dial(sock, server.at, budget, first, keep_alive);
  if (d.ec) co_return d;
  if (d.sent < preface.size()) d.ec = co_await net::send_all(sock, preface.subspan(d.sent));
  d.sent = d.sent > preface.size() ? d.sent - preface.size() : 0;
  co_return d;
}

void log_passive_change(const Service& svc, const Server& server, Change change, std::string_view error) {
  if (change == Change::down)
    spdlog::warn("service {} server {} is DOWN: {} connection(s) in a row failed, the last with \"{}\" (passive "
                 "health: skipped for {} ms, then one connection tries it)",
                 svc.name, server.address, svc.passive.failures, error, svc.passive.downtime.count());
  else if (change == Change::up)
    spdlog::info("service {} server {} is UP: a connection succeeded after its passive downtime", svc.name,
                 server.address);
}

}  // namespace

const Service* choose_load_balancer(const Service& svc, std::string& why) {
  const Service* s = &svc;
  while (!s->children.empty()) {  // the configuration has no cycles, so this ends
    const std::size_t n = s->children.size();
    std::unique_ptr<bool[]> eligible;
    if (s->skip_down_children) {
      eligible = std::make_unique<bool[]>(n);
      const Nanos now = steady_now();
      for (std::size_t i = 0; i < n; ++i) eligible[i] = service_usable(*s->children[i], now);
    }
    const std::size_t i = s->wrr.pick(s->weights, eligible ? std::span<const bool>(eligible.get(), n)
                                                           : std::span<const bool>());
    if (i == kNoPick) {
      why = down_detail(*s);
      return nullptr;
    }
    s = s->children[i];
  }
  return s;
}

awaitable<const Server*> connect_service(const Service& load_balancer, net::tcp::socket& sock, std::string& why,
                                         std::span<const std::uint8_t> early, std::size_t* sent,
                                         std::span<const std::uint8_t> preface) {
  const Service* lb = &load_balancer;
  const std::size_t n = lb->servers.size();
  if (n == 0) {
    why = "the service has no servers";
    co_return nullptr;
  }
  std::size_t usable = count_usable(*lb, steady_now());
  if (usable == 0) {
    why = down_detail(*lb);
    co_return nullptr;
  }
  const std::size_t first = lb->next.fetch_add(1, std::memory_order_relaxed) % n;
  const auto deadline = net::Clock::now() + lb->dial_timeout;
  for (std::size_t i = 0; i < n && usable > 0; ++i) {
    const Server& server = lb->servers[(first + i) % n];
    if (!admits(*server.health, lb->passive, steady_now())) continue;
    // Share what is left of the budget among the servers not yet tried, so
    // one black-holed server cannot use all of it.
    // Rounded up: the first server gets the whole dialTimeout (1000 ms, not
    // the 999 ms left a microsecond after the deadline was set).
    const auto left = std::chrono::ceil<net::Duration>(deadline - net::Clock::now());
    if (left.count() <= 0) {
      why += fmt::format("{}{}: not tried, dialTimeout spent", why.empty() ? "" : "; ", server.address);
      continue;
    }
    const auto budget = std::max(left / static_cast<long>(usable--), std::min(left, net::Duration(1000)));
    sock = net::tcp::socket(sock.get_executor());
    const std::span<const std::uint8_t> plain_first = server.tls ? std::span<const std::uint8_t>() : early;
    const net::Dialed d = co_await dial_with_preface(sock, server, budget, preface, plain_first, lb->keep_alive);
    const std::string error = !d.ec                               ? std::string()
                              : d.ec == asio::error::timed_out ? fmt::format("no answer within {} ms", budget.count())
                                                               : d.ec.message();
    log_passive_change(*lb, server, record_dial(*server.health, lb->passive, error, steady_now()), error);
    if (!d.ec) {
      if (sent) *sent = d.sent;
      co_return &server;
    }
    why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", server.address, error);
  }
  if (why.empty()) why = down_detail(*lb);  // every server went out while this connection waited its turn
  co_return nullptr;
}

}  // namespace snigate::balance
