#pragma once
// The challenges an order is waiting on, where the listeners look for them:
// TLS-ALPN-01 certificates by name (RFC 8737) and HTTP-01 key authorizations
// by token (RFC 8555 8.3). The ACME thread posts and withdraws; handshakes and
// HTTP requests read. One board per process: every entry point answers.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tls/cert_store.hpp"

namespace snigate::acme {

class ChallengeBoard {
 public:
  void post_tls_alpn(const std::string& name, std::shared_ptr<const tls::Cert> cert);
  void post_http(const std::string& token, const std::string& key_authorization);
  void withdraw(const std::string& name, const std::string& token);

  // Cheap when nothing is pending, which is nearly always.
  std::shared_ptr<const tls::Cert> tls_alpn_cert(std::string_view name) const;
  std::optional<std::string> http_answer(std::string_view token) const;
  bool http_pending() const { return http_count_.load(std::memory_order_relaxed) > 0; }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const tls::Cert>, std::less<>> tls_alpn_;
  std::map<std::string, std::string, std::less<>> http_;
  std::atomic<int> tls_count_{0};
  std::atomic<int> http_count_{0};
};

ChallengeBoard& board();

// The self-signed certificate of RFC 8737 3: name as its one SAN and the
// critical acmeIdentifier extension holding SHA-256(key_authorization).
std::shared_ptr<const tls::Cert> tls_alpn_cert(const std::string& name, const std::string& key_authorization);

// What the validation server's handshake offers: exactly acme-tls/1.
bool only_acme_tls(const std::vector<std::string>& alpn);

}  // namespace snigate::acme
