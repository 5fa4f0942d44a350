#include "acme/manager.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "acme/client.hpp"
#include "acme/fleet.hpp"
#include "acme/issued.hpp"
#include "acme/storage.hpp"

namespace snigate::acme {

using Clock = std::chrono::system_clock;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

struct ResolverRun {
  config::AcmeResolver cfg;
  std::mutex state_mutex;  // the ACME thread and, with etcdKey, the etcd watch
  ResolverState state;
  bool storage_ok = true;  // false: the file could not be read, so it is never written
  std::string bundle_error;
  std::unique_ptr<Client> client;
  std::unique_ptr<FleetStore> fleet;  // etcdKey: the state lives in etcd
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

constexpr seconds kFirstBackoff{10};  // doubling: 10 s, 20 s, 40 s ... at most kMaxBackoff
constexpr hours kMaxBackoff{24};
constexpr hours kExpiredBackoff{1};
constexpr seconds kFleetWait{15};  // another instance orders: look again after this  // an expired certificate's error is logged at least this often

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

std::vector<JobState> running_jobs() {
  Manager* m = running_manager.load();
  return m ? m->jobs() : std::vector<JobState>{};
}

std::string running_status(const std::string& name, bool& running) {
  Manager* m = running_manager.load();
  running = m != nullptr;
  return m ? m->status(name) : std::string();
}

namespace {

// Serves every certificate of state (from storage at start, or from etcd
// when another instance has saved one).
void serve_all(const std::string& resolver, const ResolverState& state, bool at_start) {
  for (const auto& c : state.certs) {
    std::string error;
    auto cert = to_cert(resolver, c, error);
    if (!cert) {
      spdlog::error("ACME {}: stored certificate for {} skipped: {}", resolver, c.main, error);
      continue;
    }
    auto held = issued().info(cert->names.front());
    if (!at_start && held && held->not_after >= not_after(cert->leaf.get())) continue;  // nothing newer
    issued().put(resolver, cert);
    spdlog::info("ACME {}: serving the {} certificate for {} (valid until {})", resolver, at_start ? "stored" : "fleet's",
                 names_text(cert->names), utc(not_after(cert->leaf.get())));
  }
}

}  // namespace

Manager::Manager(const config::Static& stat) {
  for (const auto& [name, cfg] : stat.acme) {
    auto run = std::make_unique<ResolverRun>();
    run->cfg = cfg;
    std::string error;
    if (!cfg.etcd_key.empty() && stat.etcd) {
      run->fleet = std::make_unique<FleetStore>(*stat.etcd, cfg.etcd_key, name);
      if (!run->fleet->read(run->state, error))
        spdlog::error("ACME {}: reading etcd key {}/state: {}; its certificates come once etcd answers", name,
                      cfg.etcd_key, error);
    } else if (!read_storage(cfg.storage, name, run->state, error)) {
      spdlog::error("ACME {}: storage unreadable, so it will not be written either: {}", name, error);
      run->storage_ok = false;
    }
    serve_all(name, run->state, true);
    const std::string bundle = ca_bundle(cfg.ca_certificates, cfg.ca_system_cert_pool, run->bundle_error);
    run->client = std::make_unique<Client>(run->cfg, HttpClient{bundle, cfg.client_timeout, &stop_flag_});
    if (FleetStore* fleet = run->fleet.get()) {
      run->client->publish = [fleet](const std::string& type, const std::string& id, const std::string& key_auth) {
        return fleet->post_challenge(type, id, key_auth);
      };
      run->client->unpublish = [fleet](const std::string& type, const std::string& id) {
        fleet->withdraw_challenge(type, id);
      };
      ResolverRun* r = run.get();
      fleet->watch([r, resolver = name](const ResolverState& state) {
        {
          std::lock_guard lock(r->state_mutex);
          r->state = state;
        }
        serve_all(resolver, state, false);
      });
    }
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
  for (auto& [name, r] : resolvers_) r->fleet.reset();  // its watch thread uses r
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
      spdlog::info("ACME {}: {} (router {}): no certificate yet; the default certificate is served until one comes",
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

namespace {

// When renewal of what this resolver serves for job's names is due, if it is
// not yet: nothing to order (a restart, or another instance of the fleet).
std::optional<Clock::time_point> not_yet_due(const ResolverRun& r, const Job& job) {
  auto held = issued().info(job.names.front());
  if (!held || held->resolver != job.resolver) return std::nullopt;
  for (const std::string& n : job.names)
    if (std::ranges::find(held->cert->names, n) == held->cert->names.end()) return std::nullopt;
  const auto due = renew_at(r.cfg, *held->cert);
  if (due <= Clock::now()) return std::nullopt;
  return due;
}

// The account, then the certificate: a CA that forgot the account gets it again.
Outcome order(ResolverRun& r, ResolverState& state, const Job& job, std::string& error) {
  Outcome o;
  if (!r.client->ensure_account(state, error)) return o;
  o = r.client->obtain(job.names);
  if (!o.cert && o.error.find("accountDoesNotExist") != std::string::npos) {
    r.client->forget_account();
    if (!r.client->ensure_account(state, error)) return o;
    o = r.client->obtain(job.names);
  }
  if (!o.cert) error = o.error;
  return o;
}

void save(ResolverRun& r, const std::string& resolver, const ResolverState& state) {
  std::string why;
  if (r.fleet ? !r.fleet->save(state, why) : (r.storage_ok && !write_storage(r.cfg.storage, resolver, state, why)))
    spdlog::error("ACME {}: could not save {}: {}; what is served now will be ordered again after a restart", resolver,
                  r.fleet ? "to etcd" : "to storage", why);
}

}  // namespace

// With etcdKey: the fleet's lock, and the fleet's state read again under it.
// False when there is nothing to do now (another instance orders, or already
// has); error set when etcd failed.
bool Manager::fleet_turn(ResolverRun& r, Job& job, std::string& error) {
  std::string holder;
  if (!r.fleet->try_lock(holder, error)) {
    if (!error.empty()) return false;
    job.due = Clock::now() + kFleetWait;
    spdlog::info("ACME {}: {}: instance {} is ordering for the fleet; waiting for its certificate", job.resolver,
                 names_text(job.names), holder);
    return false;
  }
  ResolverState fresh;
  if (!r.fleet->read(fresh, error)) {
    r.fleet->unlock();
    return false;
  }
  {
    std::lock_guard lock(r.state_mutex);
    r.state = fresh;
  }
  serve_all(job.resolver, fresh, false);
  if (auto due = not_yet_due(r, job)) {
    r.fleet->unlock();
    job.due = *due;
    return false;
  }
  return true;
}

// One attempt for job; sets its next due time, failures and error.
void Manager::process(Job& job) {
  ResolverRun& r = *resolvers_.at(job.resolver);
  if (auto due = not_yet_due(r, job)) {
    job.due = *due;
    job.failures = 0;
    return;
  }
  std::string error = r.bundle_error.empty() ? "" : "caCertificates: " + r.bundle_error;
  if (error.empty() && r.fleet && !fleet_turn(r, job, error) && error.empty()) return;
  ResolverState state;
  {
    std::lock_guard lock(r.state_mutex);
    state = r.state;
  }
  const std::string before = state.account ? state.account->registration_uri : "";
  Outcome o = error.empty() ? order(r, state, job, error) : Outcome{};
  std::shared_ptr<const tls::Cert> cert = o.cert ? to_cert(job.resolver, *o.cert, error) : nullptr;
  if (cert) {
    if (StoredCert* old = stored_for(state, job.names)) *old = *o.cert;
    else state.certs.push_back(*o.cert);
  }
  // Served before it is saved, so that this instance's own watch of the
  // fleet's state finds nothing newer in it.
  if (cert) issued().put(job.resolver, cert);
  if (cert || (state.account && state.account->registration_uri != before)) {
    {
      std::lock_guard lock(r.state_mutex);
      r.state = state;
    }
    save(r, job.resolver, state);
  }
  if (r.fleet) r.fleet->unlock();
  if (cert) {
    job.failures = 0;
    job.last_error.clear();
    job.due = renew_at(r.cfg, *cert);
    spdlog::info("ACME {}: {}: certificate issued, valid until {}; served from now on; renewal from {}", job.resolver,
                 names_text(job.names), utc(not_after(cert->leaf.get())), utc(job.due));
    return;
  }
  failed(job, error, o.retry_after);
}

// Logs the failure with what is served meanwhile, and backs off.
void Manager::failed(Job& job, const std::string& error, std::chrono::seconds retry_after) {
  const auto now = Clock::now();
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
  job.due = now + std::max<Clock::duration>(backoff, retry_after);
  spdlog::error("ACME {}: {}: {}; {}; next try at {}", job.resolver, names_text(job.names), error, served,
                utc(job.due));
}

std::vector<JobState> Manager::jobs() const {
  std::lock_guard lock(mutex_);
  std::vector<JobState> out;
  for (const auto& [k, job] : jobs_) out.push_back(JobState{job->resolver, job->names.front(), job->failures});
  return out;
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
