#pragma once
// Server certificates chosen by SNI: exact SAN, then wildcard SAN, then the
// default. Built once per Snapshot; lookups are two hash probes.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tls/openssl.hpp"

namespace snigate::tls {

struct Cert {
  X509Ptr leaf;
  PkeyPtr key;
  X509StackPtr chain;               // intermediates, may be empty
  std::vector<std::string> names;   // DNS SANs (or CN when there are none), lowercase
  std::string origin;               // where it came from, for logs
};

enum class CertMatch { exact, wildcard, fallback };

struct CertChoice {
  const Cert* cert = nullptr;
  CertMatch how = CertMatch::fallback;
};

struct CertStore {
  std::vector<std::shared_ptr<const Cert>> certs;
  std::unordered_map<std::string, const Cert*> exact;     // "a.example.com"
  std::unordered_map<std::string, const Cert*> wildcard;  // "example.com" for "*.example.com"
  std::shared_ptr<const Cert> fallback;                   // tls.stores.default.defaultCertificate or self-signed

  // The first certificate added for a name keeps it.
  void add(std::shared_ptr<const Cert> cert);
  CertChoice select(std::string_view sni) const;  // sni already lowercase
};

// Parses a certificate chain and its key (paths or inline PEM); checks that
// they belong together. Returns nullptr and sets error on failure.
std::shared_ptr<const Cert> load_cert(const std::string& cert_file, const std::string& key_file,
                                      std::string& error);

// An ECDSA P-256 certificate signed by itself, made in memory, for the given
// names; the first is also the subject CN. Valid for a year from now.
std::shared_ptr<const Cert> self_signed_cert(const std::vector<std::string>& names);

// Presents the chosen certificate on a server-side SSL.
bool use_cert(SSL* ssl, const Cert& cert);

}  // namespace snigate::tls
