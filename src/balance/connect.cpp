#include "balance/connect.hpp"

#include <fmt/format.h>

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

}  // namespace

awaitable<const Server*> connect_service(const Service& svc, net::tcp::socket& sock, std::string& why,
                                         std::span<const std::uint8_t> early, std::size_t* sent,
                                         std::span<const std::uint8_t> preface) {
  const std::size_t n = svc.servers.size();
  if (n == 0) {
    why = "the service has no servers";
    co_return nullptr;
  }
  const std::size_t first = svc.next.fetch_add(1, std::memory_order_relaxed) % n;
  const auto deadline = net::Clock::now() + svc.dial_timeout;
  for (std::size_t i = 0; i < n; ++i) {
    const Server& server = svc.servers[(first + i) % n];
    // Share what is left of the budget among the servers not yet tried, so
    // one black-holed server cannot use all of it.
    // Rounded up: the first server gets the whole dialTimeout (1000 ms, not
    // the 999 ms left a microsecond after the deadline was set).
    const auto left = std::chrono::ceil<net::Duration>(deadline - net::Clock::now());
    if (left.count() <= 0) {
      why += fmt::format("{}{}: not tried, dialTimeout spent", why.empty() ? "" : "; ", server.address);
      continue;
    }
    const auto budget = std::max(left / static_cast<long>(n - i), std::min(left, net::Duration(1000)));
    sock = net::tcp::socket(sock.get_executor());
    const std::span<const std::uint8_t> plain_first = server.tls ? std::span<const std::uint8_t>() : early;
    const net::Dialed d = co_await dial_with_preface(sock, server, budget, preface, plain_first, svc.keep_alive);
    if (!d.ec) {
      if (sent) *sent = d.sent;
      co_return &server;
    }
    why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", server.address,
                       d.ec == asio::error::timed_out ? fmt::format("no answer within {} ms", budget.count()) : d.ec.message());
  }
  co_return nullptr;
}

}  // namespace snigate::balance
