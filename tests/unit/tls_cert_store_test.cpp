// tls/cert_store: loading certificates (files and inline PEM), choosing one by
// SNI, the self-signed default, and presenting a choice on an SSL.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tls/cert_store.hpp"

namespace snigate::tls {
namespace {

// ---- certificates made in memory -------------------------------------------

struct KeyCert {
  PkeyPtr key;
  X509Ptr cert;
};

void add_ext(X509* subject, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, subject, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(subject, ext, -1);
  X509_EXTENSION_free(ext);
}

// A P-256 certificate with the given CN and DNS SANs (none: no SAN extension),
// signed by `issuer` or by itself.
KeyCert make_cert(const std::string& cn, const std::vector<std::string>& sans, const KeyCert* issuer = nullptr,
                  bool ca = false) {
  static long serial = 1;
  KeyCert out;
  out.key.reset(EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
  X509_set_pubkey(x, out.key.get());
  X509* signer = issuer ? issuer->cert.get() : x;
  add_ext(x, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (!sans.empty()) {
    std::string san;
    for (const auto& n : sans) san += (san.empty() ? "DNS:" : ",DNS:") + n;
    add_ext(x, signer, NID_subject_alt_name, san);
  }
  EXPECT_GT(X509_sign(x, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()), 0);
  return out;
}

std::string drain(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return s;
}

std::string cert_pem(X509* x) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  return drain(bio);
}

std::string key_pem(EVP_PKEY* k) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  return drain(bio);
}

std::vector<std::string> dns_sans(X509* x) {
  std::vector<std::string> out;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (!sans) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type != GEN_DNS) continue;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                     static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
  }
  GENERAL_NAMES_free(sans);
  return out;
}

std::string subject_cn(X509* x) {
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
  return cn;
}

// ---- load_cert -------------------------------------------------------------

class TlsCertStoreLoad : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "snigate-tls-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = new std::filesystem::path(tmpl);

    root_ = new KeyCert(make_cert("Test Root", {}, nullptr, true));
    inter_ = new KeyCert(make_cert("Test Intermediate", {}, root_, true));
    leaf_ = new KeyCert(make_cert("www.example.com", {"WWW.Example.COM", "api.example.com"}, inter_));
    other_ = new KeyCert(make_cert("other.example.com", {"other.example.com"}));
    legacy_ = new KeyCert(make_cert("Legacy.Example.com", {}));

    write("leaf.crt", cert_pem(leaf_->cert.get()));
    write("leaf.key", key_pem(leaf_->key.get()));
    write("chain.crt", cert_pem(leaf_->cert.get()) + cert_pem(inter_->cert.get()));
    write("other.key", key_pem(other_->key.get()));
    write("legacy.crt", cert_pem(legacy_->cert.get()));
    write("legacy.key", key_pem(legacy_->key.get()));
    write("garbage.crt", "this is not a certificate\n");
    write("garbage.key", "nor is this a key\n");
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete dir_;
    delete root_;
    delete inter_;
    delete leaf_;
    delete other_;
    delete legacy_;
  }
  static void write(const std::string& name, const std::string& text) { std::ofstream(*dir_ / name) << text; }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }

  static inline std::filesystem::path* dir_ = nullptr;
  static inline KeyCert* root_ = nullptr;
  static inline KeyCert* inter_ = nullptr;
  static inline KeyCert* leaf_ = nullptr;
  static inline KeyCert* other_ = nullptr;
  static inline KeyCert* legacy_ = nullptr;
};

TEST_F(TlsCertStoreLoad, FromFiles) {
  std::string error;
  auto cert = load_cert(path("leaf.crt"), path("leaf.key"), error);
  ASSERT_NE(cert, nullptr) << error;
  EXPECT_EQ(X509_cmp(cert->leaf.get(), leaf_->cert.get()), 0);
  EXPECT_EQ(EVP_PKEY_eq(cert->key.get(), leaf_->key.get()), 1);
  ASSERT_NE(cert->chain, nullptr);
  EXPECT_EQ(sk_X509_num(cert->chain.get()), 0);
  EXPECT_EQ(cert->origin, path("leaf.crt"));
  // SANs in order, lowercased; the CN is not added when there are SANs.
  EXPECT_EQ(cert->names, (std::vector<std::string>{"www.example.com", "api.example.com"}));
}

TEST_F(TlsCertStoreLoad, InlinePem) {
  std::string error;
  auto cert = load_cert(cert_pem(leaf_->cert.get()), key_pem(leaf_->key.get()), error);
  ASSERT_NE(cert, nullptr) << error;
  EXPECT_EQ(X509_cmp(cert->leaf.get(), leaf_->cert.get()), 0);
  EXPECT_EQ(cert->origin, "inline certificate");
  EXPECT_EQ(cert->names, (std::vector<std::string>{"www.example.com", "api.example.com"}));
}

TEST_F(TlsCertStoreLoad, MixedFileAndInline) {
  std::string error;
  auto cert = load_cert(path("leaf.crt"), key_pem(leaf_->key.get()), error);
  ASSERT_NE(cert, nullptr) << error;
  EXPECT_EQ(cert->origin, path("leaf.crt"));
}

TEST_F(TlsCertStoreLoad, ChainWithIntermediate) {
  std::string error;
  auto cert = load_cert(path("chain.crt"), path("leaf.key"), error);
  ASSERT_NE(cert, nullptr) << error;
  EXPECT_EQ(X509_cmp(cert->leaf.get(), leaf_->cert.get()), 0);
  ASSERT_EQ(sk_X509_num(cert->chain.get()), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(cert->chain.get(), 0), inter_->cert.get()), 0);
  // Names come from the leaf only.
  EXPECT_EQ(cert->names, (std::vector<std::string>{"www.example.com", "api.example.com"}));
}

TEST_F(TlsCertStoreLoad, KeyNotMatchingCertIsAnError) {
  std::string error;
  auto cert = load_cert(path("leaf.crt"), path("other.key"), error);
  EXPECT_EQ(cert, nullptr);
  EXPECT_NE(error.find("does not belong"), std::string::npos) << error;
  EXPECT_NE(error.find(path("leaf.crt")), std::string::npos) << error;
}

TEST_F(TlsCertStoreLoad, MissingCertFileNamesThePath) {
  std::string error;
  const std::string missing = path("nope.crt");
  EXPECT_EQ(load_cert(missing, path("leaf.key"), error), nullptr);
  EXPECT_NE(error.find(missing), std::string::npos) << error;
}

TEST_F(TlsCertStoreLoad, MissingKeyFileNamesThePath) {
  std::string error;
  const std::string missing = path("nope.key");
  EXPECT_EQ(load_cert(path("leaf.crt"), missing, error), nullptr);
  EXPECT_NE(error.find(missing), std::string::npos) << error;
}

TEST_F(TlsCertStoreLoad, GarbageCertificateIsAnError) {
  std::string error;
  EXPECT_EQ(load_cert(path("garbage.crt"), path("leaf.key"), error), nullptr);
  EXPECT_NE(error.find("no PEM certificate"), std::string::npos) << error;
  EXPECT_NE(error.find(path("garbage.crt")), std::string::npos) << error;
}

TEST_F(TlsCertStoreLoad, GarbageKeyIsAnError) {
  std::string error;
  EXPECT_EQ(load_cert(path("leaf.crt"), path("garbage.key"), error), nullptr);
  EXPECT_NE(error.find("no PEM private key"), std::string::npos) << error;
  EXPECT_NE(error.find(path("garbage.key")), std::string::npos) << error;
}

TEST_F(TlsCertStoreLoad, GarbageInlinePemIsAnError) {
  std::string error;
  EXPECT_EQ(load_cert("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
                      key_pem(leaf_->key.get()), error),
            nullptr);
  EXPECT_NE(error.find("no PEM certificate in inline certificate"), std::string::npos) << error;

  error.clear();
  EXPECT_EQ(load_cert(cert_pem(leaf_->cert.get()), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                      error),
            nullptr);
  EXPECT_NE(error.find("no PEM private key in inline key"), std::string::npos) << error;
}

TEST_F(TlsCertStoreLoad, CnOnlyCertificateIsIndexedByCn) {
  std::string error;
  auto cert = load_cert(path("legacy.crt"), path("legacy.key"), error);
  ASSERT_NE(cert, nullptr) << error;
  EXPECT_EQ(cert->names, (std::vector<std::string>{"legacy.example.com"}));
  CertStore store;
  store.add(cert);
  const CertChoice c = store.select("legacy.example.com");
  EXPECT_EQ(c.cert, cert.get());
  EXPECT_EQ(c.how, CertMatch::exact);
}

TEST_F(TlsCertStoreLoad, UseCertPresentsLeafAndChain) {
  std::string error;
  auto cert = load_cert(path("chain.crt"), path("leaf.key"), error);
  ASSERT_NE(cert, nullptr) << error;
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  ASSERT_NE(ctx, nullptr);
  SslPtr ssl(SSL_new(ctx.get()));
  ASSERT_NE(ssl, nullptr);
  ASSERT_TRUE(use_cert(ssl.get(), *cert));
  EXPECT_EQ(X509_cmp(SSL_get_certificate(ssl.get()), leaf_->cert.get()), 0);
  EXPECT_EQ(SSL_check_private_key(ssl.get()), 1);
  STACK_OF(X509)* chain = nullptr;
  ASSERT_EQ(SSL_get0_chain_certs(ssl.get(), &chain), 1);
  ASSERT_NE(chain, nullptr);
  ASSERT_EQ(sk_X509_num(chain), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(chain, 0), inter_->cert.get()), 0);
  // The Cert still owns its chain after the SSL is gone.
  ssl.reset();
  EXPECT_EQ(sk_X509_num(cert->chain.get()), 1);
}

// ---- CertStore::select -----------------------------------------------------

std::shared_ptr<const Cert> named(std::vector<std::string> names) {
  auto c = std::make_shared<Cert>();
  c->names = std::move(names);
  c->origin = c->names.empty() ? "none" : c->names.front();
  return c;
}

TEST(TlsCertStoreSelect, ExactName) {
  CertStore store;
  auto a = named({"a.example.com", "b.example.com"});
  store.add(a);
  for (const char* sni : {"a.example.com", "b.example.com"}) {
    const CertChoice c = store.select(sni);
    EXPECT_EQ(c.cert, a.get()) << sni;
    EXPECT_EQ(c.how, CertMatch::exact) << sni;
  }
}

TEST(TlsCertStoreSelect, WildcardCoversExactlyOneLabel) {
  CertStore store;
  auto fallback = named({"fallback.invalid"});
  store.fallback = fallback;
  auto w = named({"*.example.com"});
  store.add(w);

  CertChoice c = store.select("a.example.com");
  EXPECT_EQ(c.cert, w.get());
  EXPECT_EQ(c.how, CertMatch::wildcard);

  for (const char* sni : {"example.com", "a.b.example.com", ".example.com", "aexample.com", "com"}) {
    c = store.select(sni);
    EXPECT_EQ(c.cert, fallback.get()) << sni;
    EXPECT_EQ(c.how, CertMatch::fallback) << sni;
  }
}

TEST(TlsCertStoreSelect, ExactBeatsWildcardWhateverTheOrder) {
  for (bool wildcard_first : {true, false}) {
    CertStore store;
    auto w = named({"*.example.com"});
    auto e = named({"a.example.com"});
    if (wildcard_first) {
      store.add(w);
      store.add(e);
    } else {
      store.add(e);
      store.add(w);
    }
    CertChoice c = store.select("a.example.com");
    EXPECT_EQ(c.cert, e.get()) << wildcard_first;
    EXPECT_EQ(c.how, CertMatch::exact);
    c = store.select("b.example.com");
    EXPECT_EQ(c.cert, w.get()) << wildcard_first;
    EXPECT_EQ(c.how, CertMatch::wildcard);
  }
}

TEST(TlsCertStoreSelect, FirstCertificateForANameKeepsIt) {
  CertStore store;
  auto first = named({"a.example.com", "*.example.com"});
  auto second = named({"a.example.com", "*.example.com", "c.example.com"});
  store.add(first);
  store.add(second);
  EXPECT_EQ(store.select("a.example.com").cert, first.get());
  EXPECT_EQ(store.select("b.example.com").cert, first.get());
  // A name only the second one has is still the second one's.
  EXPECT_EQ(store.select("c.example.com").cert, second.get());
  EXPECT_EQ(store.certs.size(), 2u);
}

TEST(TlsCertStoreSelect, EmptySniGetsTheFallback) {
  CertStore store;
  auto fallback = named({"fallback.invalid"});
  store.fallback = fallback;
  store.add(named({"a.example.com", "*.example.com"}));
  const CertChoice c = store.select("");
  EXPECT_EQ(c.cert, fallback.get());
  EXPECT_EQ(c.how, CertMatch::fallback);
}

TEST(TlsCertStoreSelect, UnknownNameGetsTheFallback) {
  CertStore store;
  auto fallback = named({"fallback.invalid"});
  store.fallback = fallback;
  store.add(named({"a.example.com"}));
  const CertChoice c = store.select("z.example.org");
  EXPECT_EQ(c.cert, fallback.get());
  EXPECT_EQ(c.how, CertMatch::fallback);
}

TEST(TlsCertStoreSelect, NoFallbackSetGivesNull) {
  CertStore store;
  store.add(named({"a.example.com"}));
  const CertChoice c = store.select("b.example.com");
  EXPECT_EQ(c.cert, nullptr);
  EXPECT_EQ(c.how, CertMatch::fallback);
}

TEST(TlsCertStoreSelect, NamesAreLowercaseAndSelectTakesLowercase) {
  // load_cert lowercases the SANs; select() expects a lowercase SNI.
  KeyCert kc = make_cert("Mixed.Example.COM", {"Mixed.Example.COM", "*.Wild.Example.COM"});
  std::string error;
  auto cert = load_cert(cert_pem(kc.cert.get()), key_pem(kc.key.get()), error);
  ASSERT_NE(cert, nullptr) << error;
  EXPECT_EQ(cert->names, (std::vector<std::string>{"mixed.example.com", "*.wild.example.com"}));
  CertStore store;
  store.add(cert);
  EXPECT_EQ(store.select("mixed.example.com").how, CertMatch::exact);
  EXPECT_EQ(store.select("x.wild.example.com").how, CertMatch::wildcard);
  EXPECT_EQ(store.exact.count("mixed.example.com"), 1u);
  EXPECT_EQ(store.wildcard.count("wild.example.com"), 1u);
}

// ---- self_signed_cert ------------------------------------------------------

TEST(TlsCertStoreSelfSigned, NamesAreSansAndKeyIsP256) {
  auto cert = self_signed_cert({"a.example.com", "*.b.example.com"});
  ASSERT_NE(cert, nullptr);
  ASSERT_NE(cert->leaf, nullptr);
  ASSERT_NE(cert->key, nullptr);
  EXPECT_EQ(dns_sans(cert->leaf.get()), (std::vector<std::string>{"a.example.com", "*.b.example.com"}));
  EXPECT_EQ(cert->names, (std::vector<std::string>{"a.example.com", "*.b.example.com"}));
  EXPECT_EQ(subject_cn(cert->leaf.get()), "a.example.com");

  EXPECT_EQ(EVP_PKEY_get_base_id(cert->key.get()), EVP_PKEY_EC);
  char group[64] = {};
  ASSERT_EQ(EVP_PKEY_get_group_name(cert->key.get(), group, sizeof group, nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");

  // Signed by itself, with its own key, and currently valid.
  EXPECT_EQ(X509_check_private_key(cert->leaf.get(), cert->key.get()), 1);
  EXPECT_EQ(X509_verify(cert->leaf.get(), cert->key.get()), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert->leaf.get()), X509_get_issuer_name(cert->leaf.get())), 0);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert->leaf.get())), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert->leaf.get())), 0);
  ASSERT_NE(cert->chain, nullptr);
  EXPECT_EQ(sk_X509_num(cert->chain.get()), 0);

  CertStore store;
  store.add(cert);
  EXPECT_EQ(store.select("a.example.com").how, CertMatch::exact);
  EXPECT_EQ(store.select("x.b.example.com").how, CertMatch::wildcard);
}

// Names are stored lowercase, as select() expects.
TEST(TlsCertStoreSelfSigned, NamesAreStoredLowercase) {
  auto cert = self_signed_cert({"Mixed.Example.COM"});
  EXPECT_EQ(cert->names, (std::vector<std::string>{"mixed.example.com"}));
  CertStore store;
  store.add(cert);
  EXPECT_EQ(store.select("mixed.example.com").how, CertMatch::exact);
}

TEST(TlsCertStoreSelfSigned, EachCallMakesANewKey) {
  auto a = self_signed_cert({"a.example.com"});
  auto b = self_signed_cert({"a.example.com"});
  EXPECT_NE(EVP_PKEY_eq(a->key.get(), b->key.get()), 1);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a->leaf.get()), X509_get0_serialNumber(b->leaf.get())), 0);
}

TEST(TlsCertStoreSelfSigned, UseCertOnServerSsl) {
  auto cert = self_signed_cert({"snigate.invalid"});
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SslPtr ssl(SSL_new(ctx.get()));
  ASSERT_TRUE(use_cert(ssl.get(), *cert));
  EXPECT_EQ(SSL_get_certificate(ssl.get()), cert->leaf.get());
  EXPECT_EQ(SSL_check_private_key(ssl.get()), 1);
}

}  // namespace
}  // namespace snigate::tls
