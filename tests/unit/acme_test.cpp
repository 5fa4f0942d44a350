// acme/: the JWS and keys, the storage file in Traefik's layout, and the
// TLS-ALPN-01 certificate, each checked against what its RFC says.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "acme/challenges.hpp"
#include "acme/crypto.hpp"
#include "acme/storage.hpp"
#include "wire/base64.hpp"

namespace snigate::acme {
namespace {

using nlohmann::json;

// One RSA key for the file: 2048 bits keeps the test quick.
EVP_PKEY* test_key() {
  static tls::PkeyPtr key = generate_key("RSA2048");
  return key.get();
}

TEST(AcmeCrypto, Base64urlHasNoPaddingAndRoundTrips) {
  EXPECT_EQ(base64url(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(base64url_decode("a!b"));
}

TEST(AcmeCrypto, JwkIsCanonicalAndItsThumbprintIsSha256OfIt) {
  const std::string jwk = jwk_json(test_key());
  // RFC 7638 3.2: the required members only, in lexicographic order, no spaces.
  ASSERT_TRUE(jwk.starts_with("{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"")) << jwk;
  const json parsed = json::parse(jwk);
  EXPECT_EQ(base64url_decode(parsed["n"].get<std::string>())->size(), 256u);
  EXPECT_EQ(jwk_thumbprint(test_key()), base64url(sha256(jwk)));
}

TEST(AcmeCrypto, JwsVerifiesWithTheAccountKey) {
  const std::string header = R"({"alg":"RS256","nonce":"n1","url":"https://ca.example/new-order"})";
  const json jws = json::parse(sign_jws(test_key(), header, R"({"identifiers":[]})"));
  EXPECT_EQ(base64url_decode(jws["protected"].get<std::string>()), header);
  EXPECT_EQ(base64url_decode(jws["payload"].get<std::string>()), R"({"identifiers":[]})");
  const std::string input = jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
  const std::string sig = *base64url_decode(jws["signature"].get<std::string>());
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, test_key()), 1);
  EXPECT_EQ(EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(md);
  // POST-as-GET: the payload is the empty string (RFC 8555 6.3).
  EXPECT_EQ(json::parse(sign_jws(test_key(), header, ""))["payload"], "");
}

TEST(AcmeCrypto, EabSignsTheAccountKeyWithTheCasHmacKey) {
  const json eab = json::parse(eab_jws("kid-1", "secret", jwk_json(test_key()), "https://ca.example/new-acct"));
  const json prot = json::parse(*base64url_decode(eab["protected"].get<std::string>()));
  EXPECT_EQ(prot, json({{"alg", "HS256"}, {"kid", "kid-1"}, {"url", "https://ca.example/new-acct"}}));
  EXPECT_EQ(base64url_decode(eab["payload"].get<std::string>()), jwk_json(test_key()));
  EXPECT_EQ(base64url_decode(eab["signature"].get<std::string>())->size(), 32u);
}

TEST(AcmeCrypto, AccountKeyRoundTripsAsPkcs1Der) {
  const std::string der = rsa_key_der(test_key());
  ASSERT_FALSE(der.empty());
  EXPECT_EQ(static_cast<unsigned char>(der[0]), 0x30);  // an RSAPrivateKey SEQUENCE, not PKCS#8
  tls::PkeyPtr back = rsa_key_from_der(der);
  ASSERT_TRUE(back);
  EXPECT_EQ(jwk_json(back.get()), jwk_json(test_key()));
  EXPECT_FALSE(rsa_key_from_der("not a key"));
}

TEST(AcmeCrypto, KeyTypes) {
  for (const char* t : {"EC256", "EC384", "RSA2048"}) EXPECT_TRUE(generate_key(t)) << t;
  EXPECT_FALSE(generate_key("EC521"));
  EXPECT_EQ(EVP_PKEY_get_bits(generate_key("EC384").get()), 384);
  EXPECT_NE(key_pem(generate_key("EC256").get()).find("BEGIN EC PRIVATE KEY"), std::string::npos);
}

TEST(AcmeCrypto, CsrNamesEveryNameAndIsSignedByTheKey) {
  tls::PkeyPtr key = generate_key("EC256");
  const std::string der = make_csr(key.get(), {"a.example", "www.a.example"});
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_TRUE(req);
  EXPECT_EQ(X509_REQ_verify(req, key.get()), 1);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "a.example");
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  auto* sans = static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
  ASSERT_TRUE(sans);
  EXPECT_EQ(sk_GENERAL_NAME_num(sans), 2);
  GENERAL_NAMES_free(sans);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
}

TEST(AcmeChallenges, TlsAlpnCertificateCarriesTheCriticalAcmeIdentifier) {
  auto cert = tls_alpn_cert("a.example", "token.thumb");
  ASSERT_TRUE(cert);
  EXPECT_EQ(cert->names, std::vector<std::string>{"a.example"});
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  const int at = X509_get_ext_by_OBJ(cert->leaf.get(), oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(at, 0);
  X509_EXTENSION* ext = X509_get_ext(cert->leaf.get(), at);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  const std::string der(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                        static_cast<std::size_t>(ASN1_STRING_length(value)));
  EXPECT_EQ(der, std::string("\x04\x20", 2) + sha256("token.thumb"));  // OCTET STRING (SIZE (32))
  EXPECT_EQ(X509_verify(cert->leaf.get(), cert->key.get()), 1);  // signed again after the extension
}

TEST(AcmeChallenges, BoardAnswersOnlyWhatIsPending) {
  ChallengeBoard b;
  EXPECT_FALSE(b.tls_alpn_cert("a.example"));
  EXPECT_FALSE(b.http_answer("tok"));
  b.post_tls_alpn("a.example", tls_alpn_cert("a.example", "k"));
  b.post_http("tok", "tok.thumb");
  EXPECT_TRUE(b.tls_alpn_cert("a.example"));
  EXPECT_FALSE(b.tls_alpn_cert("b.example"));
  EXPECT_EQ(b.http_answer("tok"), "tok.thumb");
  EXPECT_FALSE(b.http_answer("other"));
  b.withdraw("a.example", "tok");
  EXPECT_FALSE(b.tls_alpn_cert("a.example"));
  EXPECT_FALSE(b.http_pending());
  EXPECT_TRUE(only_acme_tls({"acme-tls/1"}));
  EXPECT_FALSE(only_acme_tls({"acme-tls/1", "h2"}));
  EXPECT_FALSE(only_acme_tls({}));
}

struct StorageFile : ::testing::Test {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("snigate-acme-" + std::to_string(::getpid()));
  std::string path = (dir / "acme.json").string();
  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  void write(const std::string& text) { std::ofstream(path) << text; }
};

TEST_F(StorageFile, MissingFileIsEmpty) {
  ResolverState s;
  std::string error;
  EXPECT_TRUE(read_storage(path, "le", s, error)) << error;
  EXPECT_FALSE(s.account);
  EXPECT_TRUE(s.certs.empty());
}

// The layout Traefik writes, as in an acme.json of Traefik v2 and v3.
TEST_F(StorageFile, ReadsTraefiksLayout) {
  const std::string key = wire::base64_encode(rsa_key_der(test_key()));
  write(R"({
  "le": {
    "Account": {
      "Email": "ops@example.com",
      "Registration": {"body": {"status": "valid", "contact": ["mailto:ops@example.com"]},
                       "uri": "https://acme.example/acct/1"},
      "PrivateKey": ")" + key + R"(",
      "KeyType": "4096"
    },
    "Certificates": [
      {"domain": {"main": "a.example", "sans": ["www.a.example"]},
       "certificate": ")" + wire::base64_encode("CERT PEM") + R"(",
       "key": ")" + wire::base64_encode("KEY PEM") + R"(",
       "Store": "default"}
    ]
  },
  "other": {"Account": null, "Certificates": null}
})");
  ResolverState s;
  std::string error;
  ASSERT_TRUE(read_storage(path, "le", s, error)) << error;
  ASSERT_TRUE(s.account);
  EXPECT_EQ(s.account->email, "ops@example.com");
  EXPECT_EQ(s.account->registration_uri, "https://acme.example/acct/1");
  EXPECT_EQ(json::parse(s.account->registration_body)["status"], "valid");
  EXPECT_EQ(s.account->key_der, rsa_key_der(test_key()));
  ASSERT_EQ(s.certs.size(), 1u);
  EXPECT_EQ(s.certs[0].main, "a.example");
  EXPECT_EQ(s.certs[0].sans, std::vector<std::string>{"www.a.example"});
  EXPECT_EQ(s.certs[0].cert_pem, "CERT PEM");
  EXPECT_EQ(s.certs[0].key_pem, "KEY PEM");
  ResolverState other;
  EXPECT_TRUE(read_storage(path, "other", other, error)) << error;
  EXPECT_TRUE(other.certs.empty());
}

TEST_F(StorageFile, WritesItsEntryKeepsTheOthersAndIsPrivate) {
  write(R"({"other": {"Account": null, "Certificates": [], "Extra": 1}})");
  ResolverState s;
  s.account = StoredAccount{"ops@example.com", "https://acme.example/acct/2", R"({"status":"valid"})",
                            rsa_key_der(test_key()), "EC256"};
  s.certs.push_back(StoredCert{"a.example", {"b.example"}, "CERT", "KEY", "default"});
  std::string error;
  ASSERT_TRUE(write_storage(path, "le", s, error)) << error;
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::ifstream in(path);
  const json doc = json::parse(in);
  EXPECT_EQ(doc["other"]["Extra"], 1);
  EXPECT_EQ(doc["le"]["Account"]["Registration"]["uri"], "https://acme.example/acct/2");
  EXPECT_EQ(doc["le"]["Certificates"][0]["domain"]["sans"][0], "b.example");
  EXPECT_EQ(doc["le"]["Certificates"][0]["Store"], "default");
  ResolverState back;
  ASSERT_TRUE(read_storage(path, "le", back, error)) << error;
  EXPECT_EQ(back.certs[0].cert_pem, "CERT");
  EXPECT_EQ(back.account->key_der, s.account->key_der);
}

TEST_F(StorageFile, BrokenFilesAreErrorsNamingTheFile) {
  ResolverState s;
  std::string error;
  write("{not json");
  EXPECT_FALSE(read_storage(path, "le", s, error));
  EXPECT_NE(error.find(path), std::string::npos) << error;
  write(R"({"le": {"Certificates": [{"domain": {"main": "a"}, "certificate": "%%%", "key": "QQ=="}]}})");
  EXPECT_FALSE(read_storage(path, "le", s, error));
  EXPECT_NE(error.find("le.Certificates[0]"), std::string::npos) << error;
  write(R"({"le": {"Account": {"PrivateKey": 5}}})");
  EXPECT_FALSE(read_storage(path, "le", s, error));
  EXPECT_NE(error.find("le.Account"), std::string::npos) << error;
}

}  // namespace
}  // namespace snigate::acme
