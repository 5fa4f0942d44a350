// tls/contexts: SSL_CTX from tls.options (client-facing) and from
// serversTransports (backend-facing), and what a handshake through them agrees.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tls/cert_store.hpp"
#include "tls/contexts.hpp"

namespace snigate::tls {
namespace {

config::TlsOptions options(const std::string& name = "mine") {
  config::TlsOptions o;
  o.name = name;
  o.loc = config::Loc{"/etc/snigate/dynamic.yml", 42};
  return o;
}

std::string cert_pem(X509* x) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return s;
}

std::string key_pem(EVP_PKEY* k) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return s;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "snigate-tls-XXXXXX").string();
    if (::mkdtemp(tmpl.data())) dir_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

// The single error make_server_options reported, after checking it failed.
config::Error only_error(const config::TlsOptions& o) {
  std::vector<config::Error> errors;
  auto built = make_server_options(o, errors);
  EXPECT_EQ(built, nullptr);
  if (errors.size() != 1) {
    ADD_FAILURE() << "expected one error, got " << errors.size();
    for (const auto& e : errors) ADD_FAILURE() << e.path << ": " << e.message;
  }
  return errors.empty() ? config::Error{} : errors.front();
}

std::shared_ptr<ServerOptions> build(const config::TlsOptions& o) {
  std::vector<config::Error> errors;
  auto built = make_server_options(o, errors);
  for (const auto& e : errors) ADD_FAILURE() << e.path << ": " << e.message;
  EXPECT_NE(built, nullptr);
  return built;
}

// ---- make_server_options ---------------------------------------------------

TEST(TlsContexts, Defaults) {
  auto so = build(options("default"));
  ASSERT_NE(so, nullptr);
  EXPECT_EQ(so->name, "default");
  ASSERT_NE(so->ctx, nullptr);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(so->ctx.get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(so->ctx.get()), 0);  // highest supported
  EXPECT_EQ(SSL_CTX_get_verify_mode(so->ctx.get()), SSL_VERIFY_NONE);
  EXPECT_TRUE(so->alpn_wire.empty());
  EXPECT_FALSE(so->sni_strict);
  EXPECT_NE(SSL_CTX_get_options(so->ctx.get()) & SSL_OP_NO_RENEGOTIATION, 0u);
  EXPECT_EQ(SSL_CTX_get_num_tickets(so->ctx.get()), 1u);  // not OpenSSL's 2
  EXPECT_EQ(SSL_CTX_get_options(so->ctx.get()) & SSL_OP_NO_TICKET, 0u);
  EXPECT_NE(SSL_CTX_get_session_cache_mode(so->ctx.get()), SSL_SESS_CACHE_OFF);
}

TEST(TlsContexts, DisableSessionTicketsTurnsResumptionOff) {
  auto o = options();
  o.disable_session_tickets = true;
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  EXPECT_EQ(SSL_CTX_get_num_tickets(so->ctx.get()), 0u);
  EXPECT_NE(SSL_CTX_get_options(so->ctx.get()) & SSL_OP_NO_TICKET, 0u);
  EXPECT_EQ(SSL_CTX_get_session_cache_mode(so->ctx.get()), SSL_SESS_CACHE_OFF);
}

TEST(TlsContexts, VersionsAndSniStrict) {
  auto o = options();
  o.min_version = "VersionTLS13";
  o.max_version = "VersionTLS13";
  o.sni_strict = true;
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(so->ctx.get()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(so->ctx.get()), TLS1_3_VERSION);
  EXPECT_TRUE(so->sni_strict);
}

TEST(TlsContexts, AlpnWireIsLengthPrefixedInOrder) {
  auto o = options();
  o.alpn_protocols = {"h2", "http/1.1"};
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  EXPECT_EQ(so->alpn_wire, std::string("\x02h2\x08http/1.1"));
}

TEST(TlsContexts, BadMinVersion) {
  auto o = options();
  o.min_version = "TLSv1.2";
  const auto e = only_error(o);
  EXPECT_EQ(e.path, "tls.options.mine.minVersion");
  EXPECT_EQ(e.loc.file, "/etc/snigate/dynamic.yml");
  EXPECT_EQ(e.loc.line, 42);
  EXPECT_NE(e.message.find("TLSv1.2"), std::string::npos) << e.message;
}

TEST(TlsContexts, BadMaxVersion) {
  auto o = options();
  o.max_version = "VersionTLS14";
  const auto e = only_error(o);
  EXPECT_EQ(e.path, "tls.options.mine.maxVersion");
  EXPECT_NE(e.message.find("VersionTLS14"), std::string::npos) << e.message;
}

TEST(TlsContexts, UnknownCipherSuite) {
  auto o = options();
  o.cipher_suites = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_NULL_WITH_NULL_NULL"};
  const auto e = only_error(o);
  EXPECT_EQ(e.path, "tls.options.mine.cipherSuites");
  EXPECT_EQ(e.loc.line, 42);
  EXPECT_NE(e.message.find("TLS_NULL_WITH_NULL_NULL"), std::string::npos) << e.message;
}

TEST(TlsContexts, OpenSslCipherNamesAreNotGoNames) {
  auto o = options();
  o.cipher_suites = {"ECDHE-RSA-AES128-GCM-SHA256"};
  EXPECT_EQ(only_error(o).path, "tls.options.mine.cipherSuites");
}

TEST(TlsContexts, UnknownCurve) {
  auto o = options();
  o.curve_preferences = {"X25519", "CurveP999"};
  const auto e = only_error(o);
  EXPECT_EQ(e.path, "tls.options.mine.curvePreferences");
  EXPECT_NE(e.message.find("CurveP999"), std::string::npos) << e.message;
}

TEST(TlsContexts, UnknownClientAuthType) {
  auto o = options();
  o.client_auth_type = "RequireClientCertPlease";
  const auto e = only_error(o);
  EXPECT_EQ(e.path, "tls.options.mine.clientAuth.clientAuthType");
  EXPECT_NE(e.message.find("RequireClientCertPlease"), std::string::npos) << e.message;
}

TEST(TlsContexts, VerifyingClientCertsNeedsCaFiles) {
  for (const char* type : {"VerifyClientCertIfGiven", "RequireAndVerifyClientCert"}) {
    auto o = options();
    o.client_auth_type = type;
    const auto e = only_error(o);
    EXPECT_EQ(e.path, "tls.options.mine.clientAuth.caFiles") << type;
    EXPECT_NE(e.message.find(type), std::string::npos) << e.message;
  }
}

TEST(TlsContexts, MissingCaFile) {
  TempDir dir;
  auto o = options();
  o.client_auth_type = "RequireAndVerifyClientCert";
  o.client_ca_files = {dir.path("no-such-ca.pem")};
  const auto e = only_error(o);
  EXPECT_EQ(e.path, "tls.options.mine.clientAuth.caFiles");
  EXPECT_NE(e.message.find(dir.path("no-such-ca.pem")), std::string::npos) << e.message;
}

TEST(TlsContexts, CaFileWithoutCertificate) {
  TempDir dir;
  auto o = options();
  o.client_auth_type = "RequireAndVerifyClientCert";
  o.client_ca_files = {dir.write("empty.pem", "nothing here\n")};
  const auto e = only_error(o);
  EXPECT_EQ(e.path, "tls.options.mine.clientAuth.caFiles");
  EXPECT_NE(e.message.find("no PEM certificate"), std::string::npos) << e.message;
}

TEST(TlsContexts, EmptyAlpnProtocol) {
  auto o = options();
  o.alpn_protocols = {"h2", ""};
  EXPECT_EQ(only_error(o).path, "tls.options.mine.alpnProtocols");
}

TEST(TlsContexts, EveryBadKeyIsReportedAndEarlierErrorsKept) {
  auto o = options();
  o.min_version = "bad";
  o.cipher_suites = {"bad"};
  o.curve_preferences = {"bad"};
  o.client_auth_type = "bad";
  std::vector<config::Error> errors{config::Error{{}, "earlier", "kept"}};
  EXPECT_EQ(make_server_options(o, errors), nullptr);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].path, "earlier");
  std::vector<std::string> paths;
  for (std::size_t i = 1; i < errors.size(); ++i) paths.push_back(errors[i].path);
  EXPECT_EQ(paths, (std::vector<std::string>{"tls.options.mine.minVersion", "tls.options.mine.cipherSuites",
                                             "tls.options.mine.curvePreferences",
                                             "tls.options.mine.clientAuth.clientAuthType"}));
}

TEST(TlsContexts, EveryKnownCipherSuiteIsAccepted) {
  for (const char* c : {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
                        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                        "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",
                        "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA",
                        "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                        "TLS_CHACHA20_POLY1305_SHA256"}) {
    auto o = options();
    o.cipher_suites = {c};
    std::vector<config::Error> errors;
    EXPECT_NE(make_server_options(o, errors), nullptr) << c;
    for (const auto& e : errors) ADD_FAILURE() << c << ": " << e.path << ": " << e.message;
  }
}

TEST(TlsContexts, EveryKnownCurveIsAccepted) {
  for (const char* c : {"CurveP256", "CurveP384", "CurveP521", "X25519", "secp256r1", "secp384r1", "secp521r1",
                        "x25519"}) {
    auto o = options();
    o.curve_preferences = {c};
    EXPECT_NE(build(o), nullptr) << c;
  }
  auto o = options();
  o.curve_preferences = {"X25519", "CurveP256", "CurveP384", "CurveP521"};
  EXPECT_NE(build(o), nullptr);
}

// Aliases of one curve, and repeats, are accepted as Go accepts them
// (OpenSSL alone refuses a list that names a group twice).
TEST(TlsContexts, CurveAliasesAndDuplicatesAreAccepted) {
  auto o = options();
  o.curve_preferences = {"CurveP256", "secp256r1"};
  EXPECT_NE(build(o), nullptr);
  o.curve_preferences = {"X25519", "X25519"};
  EXPECT_NE(build(o), nullptr);
}

TEST(TlsContexts, ClientAuthModes) {
  TempDir dir;
  auto ca = self_signed_cert({"client-ca.example.com"});
  const std::string ca_file = dir.write("ca.pem", cert_pem(ca->leaf.get()));
  struct Case {
    const char* type;
    int mode;
  };
  for (const Case c : {Case{"NoClientCert", SSL_VERIFY_NONE}, Case{"RequestClientCert", SSL_VERIFY_PEER},
                       Case{"RequireAnyClientCert", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT},
                       Case{"VerifyClientCertIfGiven", SSL_VERIFY_PEER},
                       Case{"RequireAndVerifyClientCert", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT}}) {
    auto o = options();
    o.client_auth_type = c.type;
    o.client_ca_files = {ca_file};
    auto so = build(o);
    ASSERT_NE(so, nullptr) << c.type;
    EXPECT_EQ(SSL_CTX_get_verify_mode(so->ctx.get()), c.mode) << c.type;
  }
  // Inline PEM works too.
  auto o = options();
  o.client_auth_type = "RequireAndVerifyClientCert";
  o.client_ca_files = {cert_pem(ca->leaf.get())};
  EXPECT_NE(build(o), nullptr);
}

// ---- make_backend_tls ------------------------------------------------------

config::ServersTransport transport(const std::string& name = "backend") {
  config::ServersTransport st;
  st.name = name;
  st.loc = config::Loc{"/etc/snigate/dynamic.yml", 7};
  return st;
}

TEST(TlsContexts, BackendWithRootCaFile) {
  TempDir dir;
  auto ca = self_signed_cert({"backend.example.com"});
  auto st = transport();
  st.root_cas = {dir.write("root.pem", cert_pem(ca->leaf.get()))};
  st.server_name = "backend.example.com";
  std::vector<config::Error> errors;
  auto bt = make_backend_tls(st, errors);
  ASSERT_NE(bt, nullptr);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(bt->name, "backend");
  EXPECT_EQ(bt->server_name, "backend.example.com");
  EXPECT_TRUE(bt->verify);
  EXPECT_EQ(SSL_CTX_get_verify_mode(bt->ctx.get()), SSL_VERIFY_PEER);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(bt->ctx.get()), TLS1_2_VERSION);
  X509_STORE* store = SSL_CTX_get_cert_store(bt->ctx.get());
  EXPECT_EQ(sk_X509_OBJECT_num(X509_STORE_get0_objects(store)), 1);
}

TEST(TlsContexts, BackendMissingRootCa) {
  TempDir dir;
  auto st = transport();
  st.root_cas = {dir.path("missing-root.pem")};
  std::vector<config::Error> errors;
  EXPECT_EQ(make_backend_tls(st, errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "tcp.serversTransports.backend.tls.rootCAs");
  EXPECT_EQ(errors[0].loc.line, 7);
  EXPECT_NE(errors[0].message.find(dir.path("missing-root.pem")), std::string::npos) << errors[0].message;
}

TEST(TlsContexts, BackendInsecureSkipVerify) {
  auto st = transport();
  st.insecure_skip_verify = true;
  std::vector<config::Error> errors;
  auto bt = make_backend_tls(st, errors);
  ASSERT_NE(bt, nullptr);
  EXPECT_FALSE(bt->verify);
  EXPECT_EQ(SSL_CTX_get_verify_mode(bt->ctx.get()), SSL_VERIFY_NONE);
}

TEST(TlsContexts, BackendClientCertificate) {
  auto client = self_signed_cert({"client.example.com"});
  auto st = transport();
  st.certificates.push_back(config::CertFiles{cert_pem(client->leaf.get()), key_pem(client->key.get()), {"f", 9}});
  std::vector<config::Error> errors;
  auto bt = make_backend_tls(st, errors);
  ASSERT_NE(bt, nullptr);
  ASSERT_NE(SSL_CTX_get0_certificate(bt->ctx.get()), nullptr);
  EXPECT_EQ(X509_cmp(SSL_CTX_get0_certificate(bt->ctx.get()), client->leaf.get()), 0);

  auto other = self_signed_cert({"other.example.com"});
  st.certificates[0].key_file = key_pem(other->key.get());
  errors.clear();
  EXPECT_EQ(make_backend_tls(st, errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "tcp.serversTransports.backend.tls.certificates[0]");
  EXPECT_EQ(errors[0].loc.line, 9);
}

// ---- handshakes in memory --------------------------------------------------

struct Outcome {
  bool ok = false;
  std::string server_alpn;
  std::string client_alpn;
  int version = 0;
  std::string cipher;
  long verify_result = -1;
};

std::string selected_alpn(SSL* ssl) {
  const unsigned char* p = nullptr;
  unsigned n = 0;
  SSL_get0_alpn_selected(ssl, &p, &n);
  return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
}

bool step(SSL* ssl, bool& done) {
  if (done) return true;
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl);
  if (r == 1) {
    done = true;
    return true;
  }
  const int e = SSL_get_error(ssl, r);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

// A server SSL from `server_ctx` presenting `cert`, and a client SSL from
// `client_ctx` (a default client context when null) offering `alpn`, joined by
// a BIO pair; runs both handshakes to the end.
Outcome handshake(SSL_CTX* server_ctx, const Cert& cert, const std::vector<std::string>& alpn,
                  SSL_CTX* client_ctx = nullptr, int client_max_version = 0) {
  Outcome out;
  SslCtxPtr own_client_ctx;
  if (!client_ctx) {
    own_client_ctx.reset(SSL_CTX_new(TLS_client_method()));
    client_ctx = own_client_ctx.get();
  }
  SslPtr server(SSL_new(server_ctx));
  SslPtr client(SSL_new(client_ctx));
  if (!server || !client || !use_cert(server.get(), cert)) {
    ADD_FAILURE() << "setup failed";
    return out;
  }
  if (client_max_version) SSL_set_max_proto_version(client.get(), client_max_version);
  if (!alpn.empty()) {
    std::string wire;
    for (const auto& p : alpn) wire += static_cast<char>(p.size()) + p;
    EXPECT_EQ(SSL_set_alpn_protos(client.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                  static_cast<unsigned>(wire.size())),
              0);
  }
  SSL_set_tlsext_host_name(client.get(), "backend.example.com");
  SSL_set1_host(client.get(), "backend.example.com");
  BIO* server_bio = nullptr;
  BIO* client_bio = nullptr;
  if (BIO_new_bio_pair(&server_bio, 0, &client_bio, 0) != 1) {
    ADD_FAILURE() << "BIO_new_bio_pair";
    return out;
  }
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_accept_state(server.get());
  SSL_set_connect_state(client.get());
  bool server_done = false, client_done = false;
  for (int i = 0; i < 50 && !(server_done && client_done); ++i) {
    if (!step(client.get(), client_done) || !step(server.get(), server_done)) {
      ERR_clear_error();
      return out;
    }
  }
  out.ok = server_done && client_done;
  out.server_alpn = selected_alpn(server.get());
  out.client_alpn = selected_alpn(client.get());
  out.version = SSL_version(server.get());
  out.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(server.get()));
  out.verify_result = SSL_get_verify_result(client.get());
  return out;
}

class TlsContextsHandshake : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cert_ = new std::shared_ptr<const Cert>(self_signed_cert({"backend.example.com"})); }
  static void TearDownTestSuite() { delete cert_; }
  static const Cert& cert() { return **cert_; }
  static inline std::shared_ptr<const Cert>* cert_ = nullptr;
};

TEST_F(TlsContextsHandshake, ServerAlpnPreferenceWins) {
  auto o = options();
  o.alpn_protocols = {"h2", "http/1.1"};
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  const Outcome r = handshake(so->ctx.get(), cert(), {"http/1.1", "h2"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.server_alpn, "h2");
  EXPECT_EQ(r.client_alpn, "h2");
}

// A context per certificate: the certificate is in the context, and the
// options (ALPN here) are the same as in the options' own context.
TEST_F(TlsContextsHandshake, ContextPerCertificateCarriesItAndTheOptions) {
  auto o = options();
  o.alpn_protocols = {"h2"};
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  CertStore store;
  store.add(*cert_);
  store.fallback = self_signed_cert({"snigate.invalid"});
  add_cert_contexts(*so, o, store);
  SSL_CTX* with = so->ctx_for(cert());
  ASSERT_NE(with, nullptr);
  EXPECT_EQ(X509_cmp(SSL_CTX_get0_certificate(with), cert().leaf.get()), 0);
  EXPECT_NE(so->ctx_for(*store.fallback), nullptr);
  const Outcome r = handshake(with, cert(), {"http/1.1", "h2"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.server_alpn, "h2");
}

TEST_F(TlsContextsHandshake, OnlyCommonProtocolIsChosen) {
  auto o = options();
  o.alpn_protocols = {"h2", "http/1.1"};
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  const Outcome r = handshake(so->ctx.get(), cert(), {"spdy/3", "http/1.1"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.client_alpn, "http/1.1");
}

TEST_F(TlsContextsHandshake, DefaultNegotiatesNoAlpn) {
  auto so = build(options("default"));
  ASSERT_NE(so, nullptr);
  const Outcome r = handshake(so->ctx.get(), cert(), {"h2", "http/1.1"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.server_alpn, "");
  EXPECT_EQ(r.client_alpn, "");
  EXPECT_EQ(r.version, TLS1_3_VERSION);
}

TEST_F(TlsContextsHandshake, NoOverlapStillHandshakesWithoutAlpn) {
  auto o = options();
  o.alpn_protocols = {"h2", "http/1.1"};
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  const Outcome r = handshake(so->ctx.get(), cert(), {"imap", "pop3"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.server_alpn, "");
  EXPECT_EQ(r.client_alpn, "");
}

TEST_F(TlsContextsHandshake, ClientWithoutAlpnAgainstAlpnServer) {
  auto o = options();
  o.alpn_protocols = {"h2"};
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  const Outcome r = handshake(so->ctx.get(), cert(), {});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.client_alpn, "");
}

TEST_F(TlsContextsHandshake, MinVersionIsEnforced) {
  auto o = options();
  o.min_version = "VersionTLS13";
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  EXPECT_FALSE(handshake(so->ctx.get(), cert(), {}, nullptr, TLS1_2_VERSION).ok);
  EXPECT_TRUE(handshake(so->ctx.get(), cert(), {}).ok);
}

TEST_F(TlsContextsHandshake, MaxVersionAndTls12CipherSuite) {
  auto o = options();
  o.max_version = "VersionTLS12";
  o.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"};
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  const Outcome r = handshake(so->ctx.get(), cert(), {});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.version, TLS1_2_VERSION);
  EXPECT_EQ(r.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
}

TEST_F(TlsContextsHandshake, RequireAndVerifyClientCertRefusesAClientWithoutOne) {
  TempDir dir;
  auto ca = self_signed_cert({"client-ca.example.com"});
  auto o = options();
  o.client_auth_type = "RequireAndVerifyClientCert";
  o.client_ca_files = {dir.write("ca.pem", cert_pem(ca->leaf.get()))};
  auto so = build(o);
  ASSERT_NE(so, nullptr);
  EXPECT_FALSE(handshake(so->ctx.get(), cert(), {}).ok);
}

TEST_F(TlsContextsHandshake, BackendVerifiesAgainstRootCas) {
  auto so = build(options("default"));
  ASSERT_NE(so, nullptr);
  TempDir dir;
  std::vector<config::Error> errors;

  auto st = transport();
  st.root_cas = {dir.write("right.pem", cert_pem(cert().leaf.get()))};
  auto trusting = make_backend_tls(st, errors);
  ASSERT_NE(trusting, nullptr);
  const Outcome good = handshake(so->ctx.get(), cert(), {}, trusting->ctx.get());
  EXPECT_TRUE(good.ok);
  EXPECT_EQ(good.verify_result, X509_V_OK);

  auto stranger = self_signed_cert({"backend.example.com"});
  st.root_cas = {dir.write("wrong.pem", cert_pem(stranger->leaf.get()))};
  auto distrusting = make_backend_tls(st, errors);
  ASSERT_NE(distrusting, nullptr);
  EXPECT_FALSE(handshake(so->ctx.get(), cert(), {}, distrusting->ctx.get()).ok);

  st.root_cas.clear();
  st.insecure_skip_verify = true;
  auto insecure = make_backend_tls(st, errors);
  ASSERT_NE(insecure, nullptr);
  EXPECT_TRUE(handshake(so->ctx.get(), cert(), {}, insecure->ctx.get()).ok);
  EXPECT_TRUE(errors.empty());
}

}  // namespace
}  // namespace snigate::tls
