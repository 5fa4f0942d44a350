#pragma once
// The OCSP response a certificate carries to clients that ask for one
// (status_request), read by OpenSSL's status callback during the handshake.
// The slot hangs on the certificate's X509 itself, so whichever context or
// SSL presents the certificate finds it without a lookup.
#include <memory>
#include <mutex>
#include <string>

#include "tls/ocsp_schedule.hpp"
#include "tls/openssl.hpp"

namespace snigate::tls {

struct OcspStaple {
  std::string der;                // the OCSPResponse as the responder sent it
  WallClock::time_point expires;  // nextUpdate: not stapled from then on
};

// Filled by the background fetcher, read by handshakes.
struct StapleSlot {
  void set(std::shared_ptr<const OcspStaple> staple);
  std::shared_ptr<const OcspStaple> get() const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const OcspStaple> staple_;
};

// Hangs slot on leaf (replacing any other); freed with the X509. Call before
// any handshake can present leaf.
void attach_staple_slot(X509* leaf, std::shared_ptr<StapleSlot> slot);

// Makes ctx staple the response of the certificate it presents, when that
// certificate has an unexpired one and the client asked.
void staple_ocsp_responses(SSL_CTX* ctx);

}  // namespace snigate::tls
