// certificatesResolvers and the routers' tls.certResolver and tls.domains:
// Traefik's keys, their defaults, and an error with key path and line for each
// mistake.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace snigate::config {
namespace {

using test::dump;
using test::expect_error;
using test::has;
using test::TempDir;

const std::string kTwoEntries = R"y(entryPoints:
  websecure: {address: ":8443"}
  web: {address: ":8080"}
  db: {address: ":3306", protocol: mysql}
)y";  // 4 lines

Loaded load_text(const TempDir& dir, const std::string& text) { return load(dir.write("s.yml", kTwoEntries + text)); }

TEST(ConfigAcme, EveryKeyAndItsDefault) {
  TempDir dir;
  dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
  Loaded l = load_text(dir, R"y(certificatesResolvers:
  le:
    acme:
      email: ops@example.com
      caServer: https://acme-staging-v02.api.letsencrypt.org/directory
      storage: state/acme.json
      keyType: EC384
      certificatesDuration: 72
      preferredChain: ISRG Root X1
      eab: {kid: key-1, hmacEncoded: c2VjcmV0LWtleQ}
      caCertificates: [ca.pem]
      caSystemCertPool: false
      clientTimeout: 30s
      tlsChallenge: {}
      httpChallenge: {entryPoint: web}
  plain:
    acme:
      tlsChallenge: {}
)y");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  const AcmeResolver& r = l.stat.acme.at("le");
  EXPECT_EQ(r.email, "ops@example.com");
  EXPECT_EQ(r.ca_server, "https://acme-staging-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(r.storage, dir.path("state/acme.json"));
  EXPECT_EQ(r.key_type, "EC384");
  EXPECT_EQ(r.certificates_duration, 72);
  EXPECT_EQ(r.preferred_chain, "ISRG Root X1");
  EXPECT_EQ(r.eab_kid, "key-1");
  EXPECT_EQ(r.eab_hmac, "c2VjcmV0LWtleQ");
  ASSERT_EQ(r.ca_certificates.size(), 1u);
  EXPECT_EQ(r.ca_certificates[0], dir.path("ca.pem"));
  EXPECT_FALSE(r.ca_system_cert_pool);
  EXPECT_EQ(r.client_timeout, Duration(30'000));
  EXPECT_TRUE(r.tls_challenge);
  EXPECT_EQ(r.http_entry_point, "web");
  const AcmeResolver& d = l.stat.acme.at("plain");  // Traefik's defaults
  EXPECT_EQ(d.ca_server, "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(d.storage, dir.path("acme.json"));
  EXPECT_EQ(d.key_type, "RSA4096");
  EXPECT_EQ(d.certificates_duration, 2160);
  EXPECT_TRUE(d.http_entry_point.empty());
}

TEST(ConfigAcme, ResolverMistakes) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(certificatesResolvers:
  a:
    acme:
      keyType: ec256
      caServer: http://acme.example/dir
      certificatesDuration: 0
      email: nobody
      tlsChallenge: {}
  b:
    acme:
      email: ops@example.com
  c:
    acme:
      httpChallenge: {entryPoint: wbe}
  d:
    acme:
      dnsChallenge: {provider: route53}
      tlsChallenge: {}
  e:
    acme:
      httpChallenge: {entryPoint: db}
  f:
    acme:
      eab: {kid: k}
      tlsChallenge: {}
)y");
  expect_error(l, "certificatesResolvers.a.acme.keyType", 8, "did you mean \"EC256\"");
  expect_error(l, "certificatesResolvers.a.acme.caServer", 9, "must start with https://");
  expect_error(l, "certificatesResolvers.a.acme.certificatesDuration", 10, "1 (hour) or more");
  expect_error(l, "certificatesResolvers.a.acme.email", 11, "not an email address");
  expect_error(l, "certificatesResolvers.b.acme", 14, "no challenge");
  expect_error(l, "certificatesResolvers.c.acme.httpChallenge.entryPoint", 18, "did you mean \"web\"");
  expect_error(l, "certificatesResolvers.d.acme.dnsChallenge", 21, "DNS-01 is not supported");
  expect_error(l, "certificatesResolvers.e.acme.httpChallenge.entryPoint", 25, "plain tcp entry point");
  expect_error(l, "certificatesResolvers.f.acme.eab", 28, "kid and hmacEncoded go together");
}

TEST(ConfigAcme, RouterCertResolverAndDomains) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(certificatesResolvers:
  le:
    acme: {tlsChallenge: {}}
tcp:
  routers:
    a:
      rule: HostSNI(`a.example`)
      service: whoami@internal
      tls:
        certResolver: le
        domains:
          - main: a.example
            sans: [www.a.example]
    typo:
      rule: HostSNI(`b.example`)
      service: whoami@internal
      tls: {certResolver: el}
    wild:
      rule: HostSNI(`c.example`)
      service: whoami@internal
      tls:
        certResolver: le
        domains: [{main: "*.c.example"}]
    nomain:
      rule: HostSNI(`d.example`)
      service: whoami@internal
      tls:
        certResolver: le
        domains: [{sans: [d.example]}]
    through:
      rule: HostSNI(`e.example`)
      service: whoami@internal
      tls: {passthrough: true, certResolver: le}
    unused:
      rule: HostSNI(`f.example`)
      service: whoami@internal
      tls:
        domains: [{main: f.example}]
)y");
  const Router& a = l.dyn.routers.at("a");
  ASSERT_TRUE(a.tls);
  EXPECT_EQ(a.tls->cert_resolver, "le");
  ASSERT_EQ(a.tls->domains.size(), 1u);
  EXPECT_EQ(a.tls->domains[0].main, "a.example");
  EXPECT_EQ(a.tls->domains[0].sans, std::vector<std::string>{"www.a.example"});
  expect_error(l, "tcp.routers.typo.tls.certResolver", 21, "unknown certificate resolver \"el\" (did you mean \"le\"?)");
  expect_error(l, "tcp.routers.wild.tls.domains[0].main", 27, "DNS-01");
  expect_error(l, "tcp.routers.nomain.tls.domains[0]", 33, "needs main");
  EXPECT_EQ(l.errors.size(), 3u) << dump(l.errors);
  EXPECT_TRUE(has(l.warnings, "tcp.routers.through.tls.certResolver", "passthrough")) << dump(l.warnings);
  EXPECT_TRUE(has(l.warnings, "tcp.routers.unused.tls.domains", "without certResolver")) << dump(l.warnings);
}

}  // namespace
}  // namespace snigate::config
