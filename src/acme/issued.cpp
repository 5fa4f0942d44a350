#include "acme/issued.hpp"

#include <openssl/asn1.h>

#include <algorithm>

namespace snigate::acme {
namespace {

std::chrono::system_clock::time_point asn1_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

std::chrono::system_clock::time_point not_before(X509* x) { return asn1_time(X509_get0_notBefore(x)); }
std::chrono::system_clock::time_point not_after(X509* x) { return asn1_time(X509_get0_notAfter(x)); }

void IssuedCerts::put(const std::string& resolver, std::shared_ptr<const tls::Cert> cert) {
  IssuedCert entry{cert, resolver, not_before(cert->leaf.get()), not_after(cert->leaf.get())};
  std::lock_guard lock(mutex_);
  for (const std::string& name : cert->names) by_name_[name] = entry;
  any_.store(true, std::memory_order_release);
}

std::shared_ptr<const tls::Cert> IssuedCerts::find(std::string_view name) const {
  if (!any_.load(std::memory_order_acquire) || name.empty()) return nullptr;
  std::lock_guard lock(mutex_);
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.cert;
}

std::optional<IssuedCert> IssuedCerts::info(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<IssuedCert> IssuedCerts::all() const {
  std::vector<IssuedCert> out;
  std::lock_guard lock(mutex_);
  for (const auto& entry : by_name_) {
    const IssuedCert& e = entry.second;
    if (std::ranges::none_of(out, [&](const IssuedCert& o) { return o.cert == e.cert; })) out.push_back(e);
  }
  return out;
}

IssuedCerts& issued() {
  static IssuedCerts certs;
  return certs;
}

}  // namespace snigate::acme
