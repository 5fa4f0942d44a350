#pragma once
// What the metrics say about a certificate: Traefik's labels for
// traefik_tls_certs_not_after, and the date itself.
#include <string>

#include "tls/cert_store.hpp"

namespace snigate::tls {

struct CertFacts {
  std::string cn;      // subject common name; "" when none
  std::string serial;  // decimal, as Traefik prints it
  std::string sans;    // DNS names, comma-separated
  double not_after = 0;  // Unix time, seconds
};

CertFacts cert_facts(const Cert& cert);

}  // namespace snigate::tls
