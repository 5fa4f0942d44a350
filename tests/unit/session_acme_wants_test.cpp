// session/acme_wants: which certificates the routers want from ACME resolvers.
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "../unit/config_test_util.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {
namespace {

using config::test::TempDir;

std::shared_ptr<const Snapshot> compile_text(const TempDir& dir, const std::string& routers,
                                             std::vector<config::Error>& errors) {
  config::Loaded l = config::load(dir.write("s.yml", R"y(entryPoints:
  websecure: {address: ":8443"}
certificatesResolvers:
  le:
    acme: {tlsChallenge: {}}
tcp:
  routers:
)y" + routers));
  errors = l.errors;
  if (!errors.empty()) return nullptr;
  return compile(l, errors);
}

TEST(AcmeWants, TheRulesHostNamesMakeOneCertificate) {
  TempDir dir;
  std::vector<config::Error> errors;
  auto snap = compile_text(dir, R"y(    a:
      rule: HostSNI(`a.example`) || (HostSNI(`B.example`) && ClientIP(`10.0.0.0/8`))
      service: whoami@internal
      tls: {certResolver: le}
    same:
      rule: HostSNI(`a.example`) || HostSNI(`b.example`)
      service: whoami@internal
      tls: {certResolver: le}
    given:
      rule: HostSNI(`c.example`)
      service: whoami@internal
      tls:
        certResolver: le
        domains: [{main: C.example, sans: [www.c.example, c.example]}, {main: d.example}]
    mine:
      rule: HostSNI(`e.example`)
      service: whoami@internal
      tls: {}
)y", errors);
  ASSERT_TRUE(snap) << config::test::dump(errors);
  ASSERT_EQ(snap->acme_wants.size(), 3u);
  EXPECT_EQ(snap->acme_wants[0].names, (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(snap->acme_wants[0].resolver, "le");
  EXPECT_EQ(snap->acme_wants[1].names, (std::vector<std::string>{"c.example", "www.c.example"}));
  EXPECT_EQ(snap->acme_wants[2].names, (std::vector<std::string>{"d.example"}));
}

TEST(AcmeWants, RulesWithoutHostNamesNeedDomains) {
  TempDir dir;
  for (const char* rule : {"HostSNI(`*`)", "HostSNI(`*.example.com`)", "HostSNIRegexp(`^a+\\\\.example$`)",
                           "ClientIP(`10.0.0.1`)"}) {
    std::vector<config::Error> errors;
    auto snap = compile_text(dir, std::string("    r:\n      rule: \"") + rule +
                                      "\"\n      service: whoami@internal\n      tls: {certResolver: le}\n",
                             errors);
    EXPECT_FALSE(snap) << rule;
    ASSERT_EQ(errors.size(), 1u) << rule << config::test::dump(errors);
    EXPECT_EQ(errors[0].path, "tcp.routers.r.tls.certResolver") << rule;
    EXPECT_EQ(errors[0].loc.line, 11) << rule;
    EXPECT_NE(errors[0].message.find("tls.domains"), std::string::npos) << errors[0].to_string();
  }
}

// tls.certificates names a.example already: as in Traefik, no order for it.
TEST(AcmeWants, PassthroughAndCoveredNamesOrderNothing) {
  TempDir dir;
  auto own = tls::self_signed_cert({"a.example"});
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, own->leaf.get());
  PEM_write_bio_PrivateKey(b, own->key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(b, &data);
  const std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(b);
  const std::string file = dir.write("a.pem", pem);
  std::vector<config::Error> errors;
  auto snap = compile_text(dir, R"y(    through:
      rule: HostSNI(`b.example`)
      service: s
      tls: {passthrough: true, certResolver: le}
    covered:
      rule: HostSNI(`a.example`)
      service: whoami@internal
      tls: {certResolver: le}
  services:
    s:
      loadBalancer: {servers: [{address: "127.0.0.1:1"}]}
tls:
  certificates:
    - {certFile: a.pem, keyFile: a.pem}
)y", errors);
  ASSERT_TRUE(snap) << config::test::dump(errors);
  EXPECT_TRUE(snap->acme_wants.empty());
}

}  // namespace
}  // namespace snigate::session
