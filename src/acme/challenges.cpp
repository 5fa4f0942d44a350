#include "acme/challenges.hpp"

#include <openssl/x509v3.h>

#include "acme/crypto.hpp"

namespace snigate::acme {

void ChallengeBoard::post_tls_alpn(const std::string& name, std::shared_ptr<const tls::Cert> cert) {
  std::lock_guard lock(mutex_);
  tls_alpn_[name] = std::move(cert);
  tls_count_.store(static_cast<int>(tls_alpn_.size()), std::memory_order_relaxed);
}

void ChallengeBoard::post_http(const std::string& token, const std::string& key_authorization) {
  std::lock_guard lock(mutex_);
  http_[token] = key_authorization;
  http_count_.store(static_cast<int>(http_.size()), std::memory_order_relaxed);
}

void ChallengeBoard::withdraw(const std::string& name, const std::string& token) {
  std::lock_guard lock(mutex_);
  tls_alpn_.erase(name);
  http_.erase(token);
  tls_count_.store(static_cast<int>(tls_alpn_.size()), std::memory_order_relaxed);
  http_count_.store(static_cast<int>(http_.size()), std::memory_order_relaxed);
}

std::shared_ptr<const tls::Cert> ChallengeBoard::tls_alpn_cert(std::string_view name) const {
  if (tls_count_.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard lock(mutex_);
  auto it = tls_alpn_.find(name);
  return it == tls_alpn_.end() ? nullptr : it->second;
}

std::optional<std::string> ChallengeBoard::http_answer(std::string_view token) const {
  if (!http_pending()) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = http_.find(token);
  if (it == http_.end()) return std::nullopt;
  return it->second;
}

ChallengeBoard& board() {
  static ChallengeBoard b;
  return b;
}

std::shared_ptr<const tls::Cert> tls_alpn_cert(const std::string& name, const std::string& key_authorization) {
  // A certificate for the name alone, then the extension added and signed again.
  auto base = tls::self_signed_cert({name});
  auto cert = std::make_shared<tls::Cert>();
  cert->key.reset(base->key.get());
  EVP_PKEY_up_ref(cert->key.get());
  cert->leaf.reset(X509_dup(base->leaf.get()));
  cert->chain.reset(sk_X509_new_null());
  cert->names = base->names;
  cert->origin = "ACME TLS-ALPN-01 challenge for " + name;
  // id-pe-acmeIdentifier: Authorization ::= OCTET STRING (SIZE (32)), DER inside the extension.
  const std::string digest = sha256(key_authorization);
  std::string der = std::string("\x04\x20", 2) + digest;
  ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(value, reinterpret_cast<const unsigned char*>(der.data()), static_cast<int>(der.size()));
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, value);
  X509_add_ext(cert->leaf.get(), ext, -1);
  X509_EXTENSION_free(ext);
  ASN1_OBJECT_free(oid);
  ASN1_OCTET_STRING_free(value);
  X509_set_issuer_name(cert->leaf.get(), X509_get_subject_name(cert->leaf.get()));
  X509_sign(cert->leaf.get(), cert->key.get(), EVP_sha256());
  return cert;
}

bool only_acme_tls(const std::vector<std::string>& alpn) { return alpn.size() == 1 && alpn[0] == "acme-tls/1"; }

}  // namespace snigate::acme
