#include "balance/health_checker.hpp"

#include "observe/metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace snigate::balance {

using net::awaitable;

struct ProbeTask {
  explicit ProbeTask(asio::io_context& io, ProbeTarget t) : target(std::move(t)), timer(io) {}
  ProbeTarget target;
  asio::steady_timer timer;
  bool stopped = false;
};

namespace {

// Up to a tenth of the interval either way, so that servers configured at
// once are not all probed in the same millisecond.
net::Duration with_jitter(net::Duration d, std::mt19937& rng) {
  const long spread = std::max<long>(1, d.count() / 10);
  return d + net::Duration(std::uniform_int_distribution<long>(-spread, spread)(rng));
}

void log_check_change(const ProbeTarget& t, Change change, const std::string& why) {
  if (change == Change::down)
    spdlog::warn("service {} server {} is DOWN: {} (health check: {})", t.service, t.address, why,
                 t.check.describe());
  else if (change == Change::up)
    spdlog::info("service {} server {} is UP: health check passed ({})", t.service, t.address, t.check.describe());
}

awaitable<void> probe_loop(std::shared_ptr<ProbeTask> task, std::shared_ptr<std::mt19937> rng) {
  // The first probe soon (a server that is down should not wait a whole
  // interval for it), spread over up to a second.
  const auto first = std::min(task->target.check.interval, net::Duration(1000));
  task->timer.expires_after(net::Duration(std::uniform_int_distribution<long>(0, first.count())(*rng)));
  for (;;) {
    co_await task->timer.async_wait(net::nothrow);
    if (task->stopped) co_return;
    const std::string why = co_await probe(task->target);
    if (task->stopped) co_return;
    log_check_change(task->target, record_check(*task->target.health, why), why);
    observe::count_health_check(task->target.service, task->target.address, why.empty());
    const HealthCheck& check = task->target.check;
    task->timer.expires_after(with_jitter(why.empty() ? check.interval : check.unhealthy_interval, *rng));
  }
}

}  // namespace

std::vector<ProbeTarget> probe_targets(const std::map<std::string, std::unique_ptr<Service>>& services) {
  std::vector<ProbeTarget> out;
  for (const auto& [name, svc] : services) {
    if (!svc->health_check) continue;
    for (const Server& s : svc->servers) {
      ProbeTarget t{svc->name, s.address, s.at, *svc->health_check, svc->backend_tls, s.health};
      if (t.check.port != 0) t.at.port = t.check.port;
      out.push_back(std::move(t));
    }
  }
  return out;
}

HealthChecker::HealthChecker() : thread_([this] {
  auto guard = asio::make_work_guard(io_);
  io_.run();
}) {}

HealthChecker::~HealthChecker() {
  io_.stop();
  thread_.join();
}

void HealthChecker::track(std::vector<ProbeTarget> targets) {
  asio::post(io_, [this, targets = std::move(targets)]() mutable { apply(std::move(targets)); });
}

void HealthChecker::apply(std::vector<ProbeTarget> targets) {
  static const auto rng = std::make_shared<std::mt19937>(std::random_device{}());
  std::map<const ServerHealth*, std::shared_ptr<ProbeTask>> next;
  for (ProbeTarget& t : targets) {
    const ServerHealth* key = t.health.get();
    if (auto it = tasks_.find(key); it != tasks_.end()) {
      it->second->target.backend_tls = t.backend_tls;  // the new Snapshot's contexts, same settings
      next[key] = std::move(it->second);
      tasks_.erase(it);
      continue;
    }
    if (next.count(key)) continue;
    auto task = std::make_shared<ProbeTask>(io_, std::move(t));
    next[key] = task;
    asio::co_spawn(io_, probe_loop(task, rng), asio::detached);
  }
  for (auto& [key, task] : tasks_) {  // servers no longer configured
    task->stopped = true;
    task->timer.cancel();
  }
  if (!tasks_.empty() || !next.empty())
    spdlog::debug("health checks: {} server(s) checked, {} stopped", next.size(), tasks_.size());
  tasks_ = std::move(next);
}

}  // namespace snigate::balance
