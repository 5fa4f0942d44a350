#include "session/pg_cancel.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "observe/log_throttle.hpp"

namespace snigate::session {

namespace {

namespace pg = wire::postgres;

std::string key_of(const pg::CancelRequest& k) {
  std::string s(4 + k.key.size(), '\0');
  for (int i = 0; i < 4; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>(k.pid >> (24 - 8 * i));
  std::copy(k.key.begin(), k.key.end(), s.begin() + 4);
  return s;
}

}  // namespace

void CancelKeys::Entry::release() {
  if (!keys_) return;
  std::lock_guard lock(keys_->mu_);
  keys_->by_key_.erase(key_);
  keys_ = nullptr;
}

CancelKeys::Entry CancelKeys::add(const pg::CancelRequest& key, CancelTarget server) {
  std::string k = key_of(key);
  std::lock_guard lock(mu_);
  by_key_.insert_or_assign(k, std::move(server));
  return Entry(this, std::move(k));
}

bool CancelKeys::find(const pg::CancelRequest& key, CancelTarget& out) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key_of(key));
  if (it == by_key_.end()) return false;
  out = it->second;
  return true;
}

std::size_t CancelKeys::size() const {
  std::lock_guard lock(mu_);
  return by_key_.size();
}

CancelKeys& cancel_keys() {
  static CancelKeys keys;
  return keys;
}

std::vector<CancelTarget> passthrough_cancel_targets(const EntryRoutes& entry) {
  const bool postgres_only = entry.ep.protocol == config::Protocol::postgres;
  std::vector<CancelTarget> out;
  for (const Route& r : entry.routes) {
    if (!r.passthrough || !r.service) continue;
    if (!postgres_only && !r.service->postgres_passthrough.load(std::memory_order_relaxed)) continue;
    balance::for_each_server(*r.service, [&](const Server& s) {
      if (std::ranges::any_of(out, [&](const CancelTarget& t) { return t.address == s.address; })) return;
      const Service& lb = s.lb ? *s.lb : *r.service;
      out.push_back({s.address, s.at, std::min(lb.dial_timeout, net::Duration(2000)), lb.proxy_protocol});
    });
  }
  return out;
}

net::awaitable<std::size_t> forward_cancel(const std::vector<CancelTarget>& targets, const pg::CancelRequest& req,
                                           std::string& why,
                                           const std::array<std::vector<std::uint8_t>, 3>& proxy_headers) {
  const pg::Bytes cancel = pg::encode_cancel(req);
  std::size_t sent = 0;
  for (const CancelTarget& t : targets) {
    net::tcp::socket sock(co_await asio::this_coro::executor);
    const net::Dialed d = co_await net::dial(sock, t.at, t.dial_timeout);
    if (d.ec) {
      why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", t.address, d.ec.message());
      continue;
    }
    pg::Bytes packet = proxy_headers[static_cast<std::size_t>(t.proxy_protocol)];
    packet.insert(packet.end(), cancel.begin(), cancel.end());
    auto [wec, n] = co_await asio::async_write(sock, asio::buffer(packet), net::nothrow);
    if (wec) {
      why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", t.address, wec.message());
      continue;
    }
    ++sent;
    // The server closes without a reply once it has read the request.
    std::uint8_t b;
    co_await net::within(t.dial_timeout, sock.async_read_some(asio::buffer(&b, 1), net::nothrow));
  }
  co_return sent;
}

Refused admit_cancel(const Conn& c, bool fan_out, CancelLimiter::Permit& permit) {
  CancelLimiter& limiter = cancel_limiter();
  const CancelVerdict v = limiter.admit(c.facts.client_ip.value_or(IpAddress{}), fan_out, CancelLimiter::Clock::now(),
                                        permit);
  if (v == CancelVerdict::admitted) return std::nullopt;
  const CancelLimits& l = limiter.limits();
  Refusal dropped{Cause::finished, "cancel_dropped", "", "", spdlog::level::off};
  dropped.message =
      v == CancelVerdict::source_over_rate
          ? fmt::format("CancelRequest dropped: this source sent more than {} cancels (burst {}) a second that "
                        "snigate could not attribute, each of which goes to every passthrough server",
                        l.per_source_rate, l.per_source_burst)
          : fmt::format("CancelRequest dropped: {} cancels are being forwarded already (the process-wide limit)",
                        l.in_flight);
  // A flood of these is what the limit is for: its log lines are throttled.
  static observe::LogThrottle throttle(std::chrono::seconds(1));
  std::uint64_t held_back = 0;
  if (throttle.pass(observe::LogThrottle::Clock::now(), held_back))
    spdlog::warn("{}: {}; {} more CancelRequest(s) dropped since the last such line", c.rec.client, dropped.message,
                 held_back);
  return dropped;
}

}  // namespace snigate::session
