#pragma once
// The certificates ACME resolvers hold, where handshakes find them: a name
// without a certificate of its own in the configuration gets the one issued
// for it. The ACME thread replaces entries at once, without a reload; a
// handshake in progress keeps the certificate it took.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/cert_store.hpp"

namespace snigate::acme {

struct IssuedCert {
  std::shared_ptr<const tls::Cert> cert;
  std::string resolver;
  std::chrono::system_clock::time_point not_before, not_after;
};

class IssuedCerts {
 public:
  // Serves cert for each of its names (replacing what those names had).
  void put(const std::string& resolver, std::shared_ptr<const tls::Cert> cert);
  // Nothing when no resolver has issued anything: one relaxed load.
  std::shared_ptr<const tls::Cert> find(std::string_view name) const;
  std::optional<IssuedCert> info(std::string_view name) const;
  std::vector<IssuedCert> all() const;  // each certificate once

 private:
  mutable std::mutex mutex_;
  std::map<std::string, IssuedCert, std::less<>> by_name_;
  std::atomic<bool> any_{false};
};

IssuedCerts& issued();

// notBefore and notAfter of a certificate.
std::chrono::system_clock::time_point not_before(X509* x);
std::chrono::system_clock::time_point not_after(X509* x);

}  // namespace snigate::acme
