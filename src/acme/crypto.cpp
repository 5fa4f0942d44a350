#include "acme/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <nlohmann/json.hpp>

#include "wire/base64.hpp"

namespace snigate::acme {
namespace {

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct BnFree { void operator()(BIGNUM* b) const { BN_free(b); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };
struct ReqFree { void operator()(X509_REQ* r) const { X509_REQ_free(r); } };

std::string bn_bytes(EVP_PKEY* key, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &raw) != 1) return {};
  std::unique_ptr<BIGNUM, BnFree> bn(raw);
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string bio_text(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

std::string base64url(std::string_view bytes) {
  std::string s = wire::base64_encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string s(text);
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s.push_back('=');
  return wire::base64_decode(s);
}

tls::PkeyPtr generate_key(std::string_view key_type) {
  if (key_type == "EC256") return tls::PkeyPtr(EVP_EC_gen("P-256"));
  if (key_type == "EC384") return tls::PkeyPtr(EVP_EC_gen("P-384"));
  if (key_type == "RSA2048") return tls::PkeyPtr(EVP_RSA_gen(2048));
  if (key_type == "RSA4096") return tls::PkeyPtr(EVP_RSA_gen(4096));
  if (key_type == "RSA8192") return tls::PkeyPtr(EVP_RSA_gen(8192));
  return nullptr;
}

std::string rsa_key_der(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PrivateKey(key, &der);  // PKCS#1 for an RSA key
  if (n <= 0) return {};
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

tls::PkeyPtr rsa_key_from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  tls::PkeyPtr key(d2i_PrivateKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size())));
  tls::take_errors();
  return key;
}

std::string key_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> b(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey_traditional(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(b.get());
}

std::string jwk_json(EVP_PKEY* key) {
  return "{\"e\":\"" + base64url(bn_bytes(key, OSSL_PKEY_PARAM_RSA_E)) + "\",\"kty\":\"RSA\",\"n\":\"" +
         base64url(bn_bytes(key, OSSL_PKEY_PARAM_RSA_N)) + "\"}";
}

std::string sha256(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string jwk_thumbprint(EVP_PKEY* key) { return base64url(sha256(jwk_json(key))); }

std::string sign_jws(EVP_PKEY* key, const std::string& header_json, const std::string& payload) {
  const std::string prot = base64url(header_json);
  const std::string body = base64url(payload);
  const std::string input = prot + "." + body;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  std::size_t len = 0;
  std::string sig;
  if (EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestSign(md.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1) {
    sig.resize(len);
    EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
  }
  return "{\"protected\":\"" + prot + "\",\"payload\":\"" + body + "\",\"signature\":\"" + base64url(sig) + "\"}";
}

std::string eab_jws(const std::string& kid, const std::string& hmac, const std::string& account_jwk,
                    const std::string& new_account_url) {
  const std::string prot = base64url(nlohmann::json{{"alg", "HS256"}, {"kid", kid}, {"url", new_account_url}}.dump());
  const std::string body = base64url(account_jwk);
  const std::string input = prot + "." + body;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), hmac.data(), static_cast<int>(hmac.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), md, &len);
  return "{\"protected\":\"" + prot + "\",\"payload\":\"" + body + "\",\"signature\":\"" +
         base64url(std::string(reinterpret_cast<const char*>(md), len)) + "\"}";
}

std::string make_csr(EVP_PKEY* key, const std::vector<std::string>& names) {
  std::unique_ptr<X509_REQ, ReqFree> req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  if (!names.empty())
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(names[0].c_str()),
                               -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key);
  std::string san;
  for (const auto& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()))
    sk_X509_EXTENSION_push(exts, ext);
  X509_REQ_add_extensions(req.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return {};
  unsigned char* der = nullptr;
  const int n = i2d_X509_REQ(req.get(), &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

}  // namespace snigate::acme
