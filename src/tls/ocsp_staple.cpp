#include "tls/ocsp_staple.hpp"

#include <openssl/crypto.h>

#include <cstring>

namespace snigate::tls {
namespace {

void free_slot(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::shared_ptr<StapleSlot>*>(ptr);
}

int slot_index() {
  static const int index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509, 0, nullptr, nullptr, nullptr, free_slot);
  return index;
}

int status_callback(SSL* ssl, void*) {
  X509* leaf = SSL_get_certificate(ssl);
  if (!leaf) return SSL_TLSEXT_ERR_NOACK;
  const auto* slot = static_cast<const std::shared_ptr<StapleSlot>*>(X509_get_ex_data(leaf, slot_index()));
  if (!slot) return SSL_TLSEXT_ERR_NOACK;
  const std::shared_ptr<const OcspStaple> staple = (*slot)->get();
  if (!staple || WallClock::now() >= staple->expires) return SSL_TLSEXT_ERR_NOACK;
  // OpenSSL takes the buffer and frees it with the SSL.
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(staple->der.size()));
  if (!copy) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, staple->der.data(), staple->der.size());
  if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(staple->der.size())) != 1) {
    OPENSSL_free(copy);
    return SSL_TLSEXT_ERR_NOACK;
  }
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void StapleSlot::set(std::shared_ptr<const OcspStaple> staple) {
  std::lock_guard lock(mutex_);
  staple_ = std::move(staple);
}

std::shared_ptr<const OcspStaple> StapleSlot::get() const {
  std::lock_guard lock(mutex_);
  return staple_;
}

void attach_staple_slot(X509* leaf, std::shared_ptr<StapleSlot> slot) {
  const int index = slot_index();
  delete static_cast<std::shared_ptr<StapleSlot>*>(X509_get_ex_data(leaf, index));
  X509_set_ex_data(leaf, index, new std::shared_ptr<StapleSlot>(std::move(slot)));
}

void staple_ocsp_responses(SSL_CTX* ctx) { SSL_CTX_set_tlsext_status_cb(ctx, status_callback); }

}  // namespace snigate::tls
