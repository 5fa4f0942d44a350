#include "acme/manager.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "acme/client.hpp"
#include "acme/issued.hpp"
#include "acme/storage.hpp"

namespace snigate::acme {

using Clock = std::chrono::system_clock;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

struct ResolverRun {
  config::AcmeResolver cfg;
  ResolverState state;
  bool storage_ok = true;  // false: the file could not be read, so it is never written
  std::string bundle_error;
  std::unique_ptr<Client> client;
};

struct Job {
  std::string resolver;
  std::vector<std::string> names;
  std::string router;
  Clock::time_point due;
  int failures = 0;
  std::string last_error;
  bool wanted = true;
  bool running = false;
};

namespace {

constexpr minutes kFirstBackoff{1};
constexpr hours kMaxBackoff{24};
constexpr hours kExpiredBackoff{1};  // an expired certificate's error is logged at least this often

std::string key_of(const std::string& resolver, const std::vector<std::string>& names) {
  return fmt::format("{}|{}", resolver, fmt::join(names, ","));
}

std::string utc(Clock::time_point t) { return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<seconds>(t)); }

std::string names_text(const std::vector<std::string>& names) { return fmt::format("{}", fmt::join(names, ", ")); }

bool same_names(const StoredCert& c, const std::vector<std::string>& names) {
  if (names.empty() || c.main != names.front()) return false;
  std::set<std::string> a(c.sans.begin(), c.sans.end()), b(names.begin() + 1, names.end());
  return a == b;
}

StoredCert* stored_for(ResolverState& s, const std::vector<std::string>& names) {
  for (auto& c : s.certs)
    if (same_names(c, names)) return &c;
  return nullptr;
}

std::shared_ptr<const tls::Cert> to_cert(const std::string& resolver, const StoredCert& c, std::string& error) {
  auto cert = tls::load_cert(c.cert_pem, c.key_pem, error);
  if (!cert) return nullptr;
  // Not yet shared with anyone: name where it came from for logs and explain.
  std::const_pointer_cast<tls::Cert>(cert)->origin = "ACME resolver " + resolver;
  return cert;
}

// Renewal starts with a third of the lifetime left: certificatesDuration's, or
// the certificate's own when that is shorter.
Clock::time_point renew_at(const config::AcmeResolver& cfg, const tls::Cert& cert) {
  const auto nb = not_before(cert.leaf.get()), na = not_after(cert.leaf.get());
  const auto life = std::min<Clock::duration>(hours(cfg.certificates_duration), na - nb);
  return na - life / 3;
}

std::atomic<Manager*> running_manager{nullptr};

}  // namespace

std::string running_status(const std::string& name, bool& running) {
  Manager* m = running_manager.load();
  running = m != nullptr;
  return m ? m->status(name) : std::string();
}

Manager::Manager(const std::map<std::string, config::AcmeResolver>& resolvers) {
  for (const auto& [name, cfg] : resolvers) {
    auto run = std::make_unique<ResolverRun>();
    run->cfg = cfg;
    std::string error;
    if (!read_storage(cfg.storage, name, run->state, error)) {
      spdlog::error("ACME {}: storage unreadable, so it will not be written either: {}", name, error);
      run->storage_ok = false;
    }
    for (const auto& c : run->state.certs) {
      auto cert = to_cert(name, c, error);
      if (!cert) {
        spdlog::error("ACME {}: stored certificate for {} skipped: {}", name, c.main, error);
        continue;
      }
      issued().put(name, cert);
      spdlog::info("ACME {}: serving the stored certificate for {} (valid until {})", name,
                   names_text(cert->names), utc(not_after(cert->leaf.get())));
    }
    const std::string bundle = ca_bundle(cfg.ca_certificates, cfg.ca_system_cert_pool, run->bundle_error);
    run->client = std::make_unique<Client>(run->cfg, HttpClient{bundle, cfg.client_timeout, &stop_flag_});
    resolvers_[name] = std::move(run);
  }
  thread_ = std::thread([this] { run(); });
  running_manager = this;
}

Manager::~Manager() {
  running_manager = nullptr;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_flag_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Manager::want(const std::vector<Wanted>& wanted) {
  std::lock_guard lock(mutex_);
  for (auto& [k, job] : jobs_) job->wanted = false;
  const auto now = Clock::now();
  for (const Wanted& w : wanted) {
    auto res = resolvers_.find(w.resolver);
    if (res == resolvers_.end()) continue;  // validate() has refused the name
    auto [it, added] = jobs_.try_emplace(key_of(w.resolver, w.names));
    if (!added) {
      it->second->wanted = true;
      continue;
    }
    auto job = std::make_shared<Job>();
    job->resolver = w.resolver;
    job->names = w.names;
    job->router = w.router;
    job->due = now;
    // What is served already (read under issued()'s lock: the ACME thread owns the storage state).
    auto held = issued().info(w.names.front());
    const bool covers = held && held->resolver == w.resolver &&
                        std::ranges::all_of(w.names, [&](const std::string& n) {
                          return std::ranges::find(held->cert->names, n) != held->cert->names.end();
                        });
    if (covers) {
      job->due = std::max(now, renew_at(res->second->cfg, *held->cert));
      if (job->due > now) spdlog::info("ACME {}: {}: renewal due at {}", w.resolver, names_text(w.names), utc(job->due));
    } else {
      spdlog::info("ACME {}: {} (router {}): no certificate yet, ordering one; until it comes the default certificate "
                   "is served",
                   w.resolver, names_text(w.names), w.router);
    }
    it->second = std::move(job);
  }
  std::erase_if(jobs_, [](const auto& kv) { return !kv.second->wanted && !kv.second->running; });
  wake_.notify_all();
}

void Manager::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::shared_ptr<Job> next;
    for (auto& [k, job] : jobs_)
      if (!next || job->due < next->due) next = job;
    if (!next) {
      wake_.wait(lock);
      continue;
    }
    if (next->due > Clock::now()) {
      wake_.wait_until(lock, next->due);
      continue;
    }
    next->running = true;
    Job copy = *next;
    lock.unlock();
    process(copy);
    lock.lock();
    next->running = false;
    next->due = copy.due;
    next->failures = copy.failures;
    next->last_error = copy.last_error;
    if (!next->wanted) std::erase_if(jobs_, [&](const auto& kv) { return kv.second == next; });
  }
}

// One attempt for job; sets its next due time, failures and error.
void Manager::process(Job& job) {
  ResolverRun& r = *resolvers_.at(job.resolver);
  const std::string what = names_text(job.names);
  const std::string before = r.state.account ? r.state.account->registration_uri : "";
  std::string error = r.bundle_error.empty() ? "" : "caCertificates: " + r.bundle_error;
  Outcome o;
  if (error.empty() && r.client->ensure_account(r.state, error)) {
    o = r.client->obtain(job.names);
    if (!o.cert && o.error.find("accountDoesNotExist") != std::string::npos) {
      r.client->forget_account();
      if (r.client->ensure_account(r.state, error)) o = r.client->obtain(job.names);
    }
    if (!o.cert && error.empty()) error = o.error;
  }
  const bool account_changed = r.state.account && r.state.account->registration_uri != before;
  std::shared_ptr<const tls::Cert> cert = o.cert ? to_cert(job.resolver, *o.cert, error) : nullptr;
  if (cert) {
    if (StoredCert* old = stored_for(r.state, job.names)) *old = *o.cert;
    else r.state.certs.push_back(*o.cert);
  }
  if ((cert || account_changed) && r.storage_ok) {
    std::string why;
    if (!write_storage(r.cfg.storage, job.resolver, r.state, why))
      spdlog::error("ACME {}: could not save to storage: {}", job.resolver, why);
  }
  const auto now = Clock::now();
  if (cert) {
    issued().put(job.resolver, cert);
    job.failures = 0;
    job.last_error.clear();
    job.due = renew_at(r.cfg, *cert);
    spdlog::info("ACME {}: {}: certificate issued, valid until {}; served from now on; renewal from {}", job.resolver,
                 what, utc(not_after(cert->leaf.get())), utc(job.due));
    return;
  }
  ++job.failures;
  job.last_error = error;
  // A certificate that lives minutes (a test CA's) is retried in seconds.
  auto held = issued().info(job.names.front());
  const Clock::duration first =
      held ? std::clamp<Clock::duration>((held->not_after - held->not_before) / 6, seconds(1), kFirstBackoff)
           : Clock::duration(kFirstBackoff);
  auto backoff = std::min<Clock::duration>(first * (1 << std::min(job.failures - 1, 12)), kMaxBackoff);
  std::string served = "the name gets the default certificate";
  if (held) {
    if (held->not_after <= now) {
      backoff = std::min<Clock::duration>(backoff, kExpiredBackoff);
      served = fmt::format("its certificate EXPIRED at {} and is still served", utc(held->not_after));
    } else {
      served = fmt::format("its certificate (valid until {}) is still served", utc(held->not_after));
    }
  }
  job.due = now + std::max<Clock::duration>(backoff, o.retry_after);
  spdlog::error("ACME {}: {}: {}; {}; next try at {}", job.resolver, what, error, served, utc(job.due));
}

std::string Manager::status(const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& [k, job] : jobs_) {
    if (std::find(job->names.begin(), job->names.end(), name) == job->names.end()) continue;
    if (job->running) return fmt::format("resolver {} is ordering it now", job->resolver);
    if (job->failures)
      return fmt::format("resolver {} failed {} time(s), last: {}; next try at {}", job->resolver, job->failures,
                         job->last_error, utc(job->due));
    return fmt::format("resolver {}: renewal due at {}", job->resolver, utc(job->due));
  }
  return {};
}

}  // namespace snigate::acme
