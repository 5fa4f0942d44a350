#include "tls/cert_store.hpp"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

namespace snigate::tls {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string> names_of(X509* x) {
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = gn->d.dNSName;
      names.push_back(lower({reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<std::size_t>(ASN1_STRING_length(s))}));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {  // legacy certificates name the host in the CN only
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0)
      names.push_back(lower(cn));
  }
  return names;
}

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };

}  // namespace

void CertStore::add(std::shared_ptr<const Cert> cert) {
  for (const auto& name : cert->names) {
    if (name.starts_with("*."))
      wildcard.try_emplace(name.substr(2), cert.get());
    else
      exact.try_emplace(name, cert.get());
  }
  certs.push_back(std::move(cert));
}

CertChoice CertStore::select(std::string_view sni) const {
  if (!sni.empty()) {
    if (auto it = exact.find(std::string(sni)); it != exact.end()) return {it->second, CertMatch::exact};
    // A wildcard covers exactly one label (RFC 6125 6.4.3).
    if (auto dot = sni.find('.'); dot != std::string_view::npos && dot > 0) {
      if (auto it = wildcard.find(std::string(sni.substr(dot + 1))); it != wildcard.end())
        return {it->second, CertMatch::wildcard};
    }
  }
  return {fallback.get(), CertMatch::fallback};
}

std::shared_ptr<const Cert> load_cert(const std::string& cert_file, const std::string& key_file,
                                      std::string& error) {
  std::string cert_pem, key_pem;
  if (!read_pem(cert_file, cert_pem, error) || !read_pem(key_file, key_pem, error)) return nullptr;

  auto cert = std::make_shared<Cert>();
  cert->origin = cert_file.starts_with("-----BEGIN") ? "inline certificate" : cert_file;
  std::unique_ptr<BIO, BioFree> cb(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  cert->leaf.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  if (!cert->leaf) {
    error = "no PEM certificate in " + cert->origin + " (" + take_errors() + ")";
    return nullptr;
  }
  cert->chain.reset(sk_X509_new_null());
  while (X509* extra = PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr)) sk_X509_push(cert->chain.get(), extra);
  take_errors();  // the loop ends on a "no start line" error; that is the normal end

  std::unique_ptr<BIO, BioFree> kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  cert->key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!cert->key) {
    error = "no PEM private key in " + (key_file.starts_with("-----BEGIN") ? std::string("inline key") : key_file) +
            " (" + take_errors() + ")";
    return nullptr;
  }
  if (X509_check_private_key(cert->leaf.get(), cert->key.get()) != 1) {
    take_errors();
    error = "the private key does not belong to the certificate " + cert->origin;
    return nullptr;
  }
  cert->names = names_of(cert->leaf.get());
  return cert;
}

std::shared_ptr<const Cert> self_signed_cert(const std::vector<std::string>& names) {
  auto cert = std::make_shared<Cert>();
  cert->origin = "self-signed";
  cert->key.reset(EVP_EC_gen("P-256"));
  X509* x = X509_new();
  cert->leaf.reset(x);
  X509_set_version(x, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
  X509_NAME* subject = X509_get_subject_name(x);
  const std::string cn = names.empty() ? "snigate" : names.front();
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("snigate"), -1, -1, 0);
  X509_set_issuer_name(x, subject);
  X509_set_pubkey(x, cert->key.get());
  if (!names.empty()) {
    std::string san;
    for (const auto& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str())) {
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  X509_sign(x, cert->key.get(), EVP_sha256());
  cert->chain.reset(sk_X509_new_null());
  for (const auto& n : names) cert->names.push_back(lower(n));
  return cert;
}

bool use_cert(SSL* ssl, const Cert& cert) {
  // The chain is shared, not copied: override=1 replaces whatever the context set.
  return SSL_use_cert_and_key(ssl, cert.leaf.get(), cert.key.get(), cert.chain.get(), 1) == 1;
}

}  // namespace snigate::tls
