#include "tls/cert_facts.hpp"

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace snigate::tls {
namespace {

std::string common_name(X509* x) {
  char buf[256] = {};
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::string decimal_serial(X509* x) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(ASN1_INTEGER_to_BN(X509_get_serialNumber(x), nullptr), BN_free);
  if (!bn) return {};
  char* text = BN_bn2dec(bn.get());
  if (!text) return {};
  std::string out(text);
  OPENSSL_free(text);
  return out;
}

std::string dns_names(X509* x) {
  std::string out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type != GEN_DNS) continue;
    const ASN1_STRING* s = n->d.dNSName;
    if (!out.empty()) out += ',';
    out.append(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

double unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<double>(timegm(&tm));
}

}  // namespace

CertFacts cert_facts(const Cert& cert) {
  X509* x = cert.leaf.get();
  return CertFacts{common_name(x), decimal_serial(x), dns_names(x), unix_time(X509_get0_notAfter(x))};
}

}  // namespace snigate::tls
