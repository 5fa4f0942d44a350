#include "session/ocsp_stapler.hpp"

#include <fmt/chrono.h>
#include <spdlog/spdlog.h>

#include <set>

#include "tls/ocsp_fetch.hpp"
#include "tls/ocsp_staple.hpp"

namespace snigate::session {

using tls::WallClock;

struct OcspEntry {
  std::string name;  // for logs: the certificate's first name and origin
  tls::X509Ptr leaf;
  tls::X509Ptr issuer;
  std::vector<config::HttpUrl> responders;
  std::vector<std::string> responder_text;  // as logged
  std::shared_ptr<tls::StapleSlot> slot = std::make_shared<tls::StapleSlot>();
  WallClock::time_point due;  // next fetch
  int failures = 0;           // in a row
};

namespace {

std::string fingerprint(X509* x) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  X509_digest(x, EVP_sha256(), md, &n);
  return std::string(reinterpret_cast<const char*>(md), n);
}

tls::X509Ptr up_ref(X509* x) {
  X509_up_ref(x);
  return tls::X509Ptr(x);
}

std::string describe(const tls::Cert& c) {
  return fmt::format("certificate {} ({})", c.names.empty() ? std::string("(no name)") : c.names.front(), c.origin);
}

std::string utc(WallClock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(WallClock::to_time_t(t)));
}

// A new entry for c, or nullptr (logged) when c cannot be stapled.
std::shared_ptr<OcspEntry> make_entry(const tls::Cert& c, const std::vector<std::string>& urls,
                                      const std::map<std::string, std::string>& overrides) {
  X509* issuer = tls::find_issuer(c.leaf.get(), c.chain.get());
  if (!issuer) {
    spdlog::warn("OCSP: {} names a responder but its file holds no issuer certificate (put the chain after the "
                 "leaf): not stapled", describe(c));
    return nullptr;
  }
  auto e = std::make_shared<OcspEntry>();
  e->name = describe(c);
  e->leaf = up_ref(c.leaf.get());
  e->issuer = up_ref(issuer);
  for (const auto& url : urls) {
    const std::string& ask = tls::responder_to_ask(url, overrides);
    std::string why;
    if (auto parsed = config::parse_http_url(ask, why)) {
      e->responders.push_back(*parsed);
      e->responder_text.push_back(ask == url ? ask : ask + " (override of " + url + ")");
    } else {
      spdlog::warn("OCSP: {}: responder {} skipped: {}", e->name, ask, why);
    }
  }
  if (e->responders.empty()) return nullptr;
  e->due = WallClock::now();
  return e;
}

}  // namespace

OcspStapler::OcspStapler(std::map<std::string, std::string> responder_overrides)
    : overrides_(std::move(responder_overrides)), thread_([this] { run(); }) {}

OcspStapler::~OcspStapler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void OcspStapler::track(const tls::CertStore& certs) {
  std::vector<const tls::Cert*> all;
  for (const auto& c : certs.certs) all.push_back(c.get());
  if (certs.fallback) all.push_back(certs.fallback.get());
  std::lock_guard lock(mutex_);
  std::map<std::string, std::shared_ptr<OcspEntry>> kept;
  for (const tls::Cert* c : all) {
    const std::vector<std::string> urls = tls::ocsp_responder_urls(c->leaf.get());
    if (urls.empty()) continue;  // no responder named: nothing to staple
    std::string fp = fingerprint(c->leaf.get());
    std::shared_ptr<OcspEntry> entry;
    if (auto it = kept.find(fp); it != kept.end()) entry = it->second;
    else if (auto old = entries_.find(fp); old != entries_.end()) entry = old->second;
    else if ((entry = make_entry(*c, urls, overrides_)))
      spdlog::info("OCSP: {}: will staple responses from {}", entry->name, fmt::join(entry->responder_text, ", "));
    if (!entry) continue;
    tls::attach_staple_slot(c->leaf.get(), entry->slot);
    kept.emplace(std::move(fp), std::move(entry));
  }
  for (const auto& [fp, e] : entries_)
    if (!kept.contains(fp)) spdlog::info("OCSP: {}: no longer served; its response is dropped", e->name);
  entries_ = std::move(kept);
  wake_.notify_all();
}

void OcspStapler::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::shared_ptr<OcspEntry> next;
    for (const auto& [fp, e] : entries_)
      if (!next || e->due < next->due) next = e;
    if (!next) {
      wake_.wait(lock);
      continue;
    }
    if (WallClock::now() < next->due) {
      wake_.wait_until(lock, next->due);
      continue;  // woken early, or the entries changed: choose again
    }
    lock.unlock();
    fetch(*next);  // only this thread changes an entry's fields after track() made it
    lock.lock();
  }
}

void OcspStapler::fetch(OcspEntry& e) {
  std::string errors;
  for (std::size_t i = 0; i < e.responders.size(); ++i) {
    std::string why;
    auto answer = tls::fetch_ocsp(e.leaf.get(), e.issuer.get(), e.responders[i], why);
    if (!answer) {
      errors += (errors.empty() ? "" : "; ") + e.responder_text[i] + ": " + why;
      continue;
    }
    const auto now = WallClock::now();
    const tls::OcspTimes times = tls::ocsp_times(answer->this_update, answer->next_update, now);
    e.slot->set(std::make_shared<tls::OcspStaple>(tls::OcspStaple{std::move(answer->der), times.expires}));
    e.failures = 0;
    e.due = times.refresh;
    const auto level = answer->status == tls::OcspStatus::good ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(level, "OCSP: {}: status {} from {}; stapled until {}, next fetch at {}", e.name,
                tls::to_string(answer->status), e.responder_text[i], utc(times.expires), utc(times.refresh));
    return;
  }
  ++e.failures;
  const auto now = WallClock::now();
  e.due = now + tls::ocsp_retry_delay(e.failures);
  const auto last = e.slot->get();
  const std::string kept = last && now < last->expires ? "the last response stays stapled until " + utc(last->expires)
                                                       : std::string("no response is stapled");
  spdlog::warn("OCSP: {}: fetch failed ({}); {}; retry at {}", e.name, errors, kept, utc(e.due));
}

}  // namespace snigate::session
