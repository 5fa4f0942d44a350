// tls/ticket_keys: session tickets that a rebuilt context (a reload) still
// opens, that no differently built context opens, and that expire with the
// secret's rotation. Handshakes in memory, TLS 1.3 and 1.2.
#include <gtest/gtest.h>

#include <openssl/err.h>

#include <memory>
#include <string>

#include "tls/cert_store.hpp"
#include "tls/contexts.hpp"
#include "tls/ticket_keys.hpp"

namespace snigate::tls {
namespace {

long fake_now = 0;
long fake_clock() { return fake_now; }

using SessionPtr = std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)>;

struct Result {
  bool ok = false;
  bool reused = false;
  SessionPtr session{nullptr, SSL_SESSION_free};  // the client's, with the ticket it got
};

bool step(SSL* ssl, bool& done) {
  if (done) return true;
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl);
  if (r == 1) return done = true;
  const int e = SSL_get_error(ssl, r);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

// One connection from a fresh client to server_ctx, offering `offer` to
// resume; the client then reads what the server sent after the handshake
// (the TLS 1.3 ticket).
Result connect(SSL_CTX* server_ctx, SSL_SESSION* offer = nullptr, int max_version = TLS1_3_VERSION) {
  Result out;
  SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_max_proto_version(client_ctx.get(), max_version);
  SslPtr server(SSL_new(server_ctx)), client(SSL_new(client_ctx.get()));
  SSL_set_tlsext_host_name(client.get(), "resume.example.com");
  if (offer) SSL_set_session(client.get(), offer);
  BIO *server_bio = nullptr, *client_bio = nullptr;
  if (BIO_new_bio_pair(&server_bio, 0, &client_bio, 0) != 1) return out;
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_accept_state(server.get());
  SSL_set_connect_state(client.get());
  bool server_done = false, client_done = false;
  for (int i = 0; i < 50 && !(server_done && client_done); ++i)
    if (!step(client.get(), client_done) || !step(server.get(), server_done)) return out;
  char byte;
  SSL_read(client.get(), &byte, 1);  // takes the ticket; no application data: WANT_READ
  ERR_clear_error();
  out.ok = server_done && client_done;
  out.reused = SSL_session_reused(server.get()) == 1;
  out.session.reset(SSL_get1_session(client.get()));
  // As after a clean close: OpenSSL marks the session of a connection freed
  // without one as not resumable.
  SSL_set_shutdown(client.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_shutdown(server.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  return out;
}

class TlsTicketKeys : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cert_ = new std::shared_ptr<const Cert>(self_signed_cert({"resume.example.com"}));
    other_ = new std::shared_ptr<const Cert>(self_signed_cert({"resume.example.com"}));
  }
  static void TearDownTestSuite() {
    delete cert_;
    delete other_;
  }
  void SetUp() override {
    fake_now = 1'000'000 * kTicketPeriod.count();  // the start of a period
    set_ticket_clock(fake_clock);
  }
  void TearDown() override { set_ticket_clock(nullptr); }

  static config::TlsOptions options() {
    config::TlsOptions o;
    o.name = "default";
    return o;
  }
  // A context as a load builds it: the options' context with cert in it.
  static SslCtxPtr build(const config::TlsOptions& o, const Cert& cert) {
    std::vector<config::Error> errors;
    auto so = make_server_options(o, errors);
    EXPECT_TRUE(so && errors.empty());
    CertStore store;
    store.certs.push_back(std::make_shared<Cert>(Cert{X509Ptr(X509_dup(cert.leaf.get())), PkeyPtr(dup_key(cert.key.get())), nullptr, cert.names, "test"}));
    add_cert_contexts(*so, o, store);
    SSL_CTX* ctx = so->ctx_for(*store.certs.front());
    EXPECT_NE(ctx, nullptr);
    SSL_CTX_up_ref(ctx);
    return SslCtxPtr(ctx);
  }
  static EVP_PKEY* dup_key(EVP_PKEY* k) {
    EVP_PKEY_up_ref(k);
    return k;
  }
  static const Cert& cert() { return **cert_; }
  static const Cert& other() { return **other_; }
  static inline std::shared_ptr<const Cert>* cert_ = nullptr;
  static inline std::shared_ptr<const Cert>* other_ = nullptr;
};

TEST_F(TlsTicketKeys, ATicketResumesOnTheSameContextAndOnOneRebuiltByAReload) {
  SslCtxPtr before = build(options(), cert());
  Result first = connect(before.get());
  ASSERT_TRUE(first.ok);
  EXPECT_FALSE(first.reused);
  ASSERT_TRUE(first.session && SSL_SESSION_is_resumable(first.session.get())) << "no ticket came";
  EXPECT_TRUE(connect(before.get(), first.session.get()).reused);

  SslCtxPtr after = build(options(), cert());  // what a reload builds from the same configuration
  const Result again = connect(after.get(), first.session.get());
  ASSERT_TRUE(again.ok);
  EXPECT_TRUE(again.reused) << "a reload made the client's ticket useless";
}

TEST_F(TlsTicketKeys, TLS12SessionsResumeAcrossAReloadToo) {
  SslCtxPtr before = build(options(), cert());
  Result first = connect(before.get(), nullptr, TLS1_2_VERSION);
  ASSERT_TRUE(first.ok && first.session);
  SslCtxPtr after = build(options(), cert());
  EXPECT_TRUE(connect(after.get(), first.session.get(), TLS1_2_VERSION).reused);
}

TEST_F(TlsTicketKeys, AContextBuiltDifferentlyDoesNotOpenTheTicket) {
  SslCtxPtr base = build(options(), cert());
  Result first = connect(base.get());
  ASSERT_TRUE(first.ok && first.session);

  auto strict = options();
  strict.client_auth_type = "RequestClientCert";  // a resumed session would skip asking
  auto renamed = options();
  renamed.name = "other";
  auto alpn = options();
  alpn.alpn_protocols = {"h2"};
  for (const auto& o : {strict, renamed, alpn}) {
    SslCtxPtr ctx = build(o, cert());
    const Result r = connect(ctx.get(), first.session.get());
    ASSERT_TRUE(r.ok) << o.name << " " << o.client_auth_type;
    EXPECT_FALSE(r.reused) << "resumed under changed options (" << o.name << ", " << o.client_auth_type << ")";
  }
  SslCtxPtr other_cert = build(options(), other());
  EXPECT_FALSE(connect(other_cert.get(), first.session.get()).reused) << "resumed with another certificate";
}

TEST_F(TlsTicketKeys, ATicketLivesThroughTwoMorePeriodsAndThenExpires) {
  SslCtxPtr ctx = build(options(), cert());
  Result first = connect(ctx.get());
  ASSERT_TRUE(first.ok && first.session);
  // Only the key ring's clock moves; OpenSSL's own session timeout (two
  // hours of real time) stays far off.
  fake_now += 2 * kTicketPeriod.count() + kTicketPeriod.count() / 2;  // two periods on
  const Result late = connect(ctx.get(), first.session.get());
  EXPECT_TRUE(late.reused) << "a ticket from two periods ago was refused";

  fake_now += kTicketPeriod.count();  // three periods on: that secret is gone
  const Result expired = connect(ctx.get(), first.session.get());
  ASSERT_TRUE(expired.ok) << "an expired ticket must give a full handshake, not a failure";
  EXPECT_FALSE(expired.reused);
  EXPECT_TRUE(connect(ctx.get(), late.session.get()).reused) << "the renewed ticket (from the resumption) still works";
}

TEST_F(TlsTicketKeys, ATicketExpiresOnAContextThatSealedNothingSince) {
  SslCtxPtr ctx = build(options(), cert());
  Result first = connect(ctx.get());
  ASSERT_TRUE(first.ok && first.session);
  fake_now += 3 * kTicketPeriod.count();  // no handshake in between: the context still holds that period's keys
  const Result r = connect(ctx.get(), first.session.get());
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.reused) << "a ticket outlived its secret";
}

TEST_F(TlsTicketKeys, DisableSessionTicketsStillMeansNoResumption) {
  auto o = options();
  o.disable_session_tickets = true;
  SslCtxPtr ctx = build(o, cert());
  Result first = connect(ctx.get());
  ASSERT_TRUE(first.ok);
  EXPECT_FALSE(connect(ctx.get(), first.session.get()).reused);
}

}  // namespace
}  // namespace snigate::tls
