// Every kind of configuration error, with its file, line and key path.
#include <gtest/gtest.h>
#include <unistd.h>

#include "config/yaml_walk.hpp"
#include "config_test_util.hpp"

namespace snigate::config {
namespace {

using test::dump;
using test::has;
using test::one;
using test::TempDir;

// Loads text (the static file) and returns the result.
Loaded load_text(const TempDir& dir, const std::string& text) { return load(dir.write("s.yml", text)); }

using test::expect_error;

const std::string kEntry = test::kEntry;  // 3 lines
const std::string kSvc = R"y(tcp:
  services:
    s:
      loadBalancer:
        servers: [{address: "a:1"}]
)y";  // lines 4-8 after kEntry

TEST(ConfigErrors, UnknownKeyWithDidYouMean) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(entrypoint:
  web:
    address: ":443"
tcp:
  routers:
    r:
      rulle: "HostSNI(`a`)"
      service: whoami@internal
      zzzzzz: 1
)y");
  EXPECT_EQ(one(l.errors, "entrypoint").to_string(),
            dir.path("s.yml") + ":1: entrypoint: unknown key \"entrypoint\" (did you mean \"entryPoints\"?)");
  std::vector<Error> router;
  for (const Error& e : l.errors)
    if (e.path.starts_with("tcp.routers.r.") && e.message.starts_with("unknown key")) router.push_back(e);
  ASSERT_EQ(router.size(), 2u) << dump(l.errors);
  EXPECT_EQ(router[0].loc.line, 7);
  EXPECT_EQ(router[0].message, "unknown key \"rulle\" (did you mean \"rule\"?)");
  EXPECT_EQ(router[1].loc.line, 9);
  EXPECT_EQ(router[1].message, "unknown key \"zzzzzz\"");
  // The missing rule is reported too: all errors, not the first.
  expect_error(l, "tcp.routers.r.rule", 6, "is required");
}

TEST(ConfigErrors, UnknownNestedStaticKeys) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(entryPoints:
  web:
    adress: ":443"
    transport:
      lifeCyle:
        graceTimeOut: 1s
providers:
  file:
    filenam: x.yml
  dokcer: {}
)y");
  expect_error(l, "entryPoints.web.adress", 3, "unknown key \"adress\" (did you mean \"address\"?)");
  expect_error(l, "entryPoints.web.address", 2, "is required");
  expect_error(l, "entryPoints.web.transport.lifeCyle", 5, "(did you mean \"lifeCycle\"?)");
  expect_error(l, "providers.file.filenam", 9, "(did you mean \"filename\"?)");
  expect_error(l, "providers.dokcer", 10, "(did you mean \"docker\"?)");
}

TEST(ConfigErrors, WrongTypes) {
  TempDir dir;
  Loaded l = load_text(dir, kEntry + R"y(tcp:
  routers:
    r:
      rule:
        HostSNI: a
      service: [s]
      entryPoints: websecure
      priority: high
      tls:
        passthrough: maybe
  services: [x]
)y");
  expect_error(l, "tcp.routers.r.rule", 7, "expected a string, found a map");
  expect_error(l, "tcp.routers.r.service", 9, "expected a string, found a list");
  expect_error(l, "tcp.routers.r.entryPoints", 10, "expected a list, found \"websecure\"");
  expect_error(l, "tcp.routers.r.priority", 11, "expected an integer, found \"high\"");
  expect_error(l, "tcp.routers.r.tls.passthrough", 13, "expected a boolean");
  expect_error(l, "tcp.services", 14, "expected a map, found a list");
}

TEST(ConfigErrors, MailHostnameIsForMailEntryPoints) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(entryPoints:
  mx:
    address: ":25"
    protocol: smtp
    mail:
      hostname: "mx example"
  web:
    address: ":443"
    mail:
      hostname: web.example
  ok:
    address: ":587"
    protocol: smtp
    mail:
      hostname: mx.example
)y");
  expect_error(l, "entryPoints.mx.mail.hostname", 6, "must be a host name");
  expect_error(l, "entryPoints.web.mail", 9, "applies to entry points with protocol smtp, imap or pop3; this one's is tcp");
  EXPECT_EQ(l.errors.size(), 2u) << dump(l.errors);
  EXPECT_EQ(l.stat.entry_points.at("ok").protocol, Protocol::smtp);
  EXPECT_EQ(l.stat.entry_points.at("ok").mail_hostname, "mx.example");
}

TEST(ConfigErrors, ReusePortIsABoolean) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(entryPoints:
  web:
    address: ":443"
    reusePort: sometimes
)y");
  expect_error(l, "entryPoints.web.reusePort", 4, "expected a boolean");
  EXPECT_EQ(l.errors.size(), 1u) << dump(l.errors);
}

TEST(ConfigErrors, DisableSessionTicketsIsABoolean) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(tls:
  options:
    default:
      disableSessionTickets: 1
)y");
  expect_error(l, "tls.options.default.disableSessionTickets", 4, "expected a boolean");
  EXPECT_EQ(l.errors.size(), 1u) << dump(l.errors);
}

TEST(ConfigErrors, BadDurationsAndValues) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(entryPoints:
  web:
    address: ":443"
    protocol: redis
    clientHelloTimeout: 5 seconds
    firstByteTimeout: -1s
    transport:
      respondingTimeouts:
        readTimeout: 1.5
log:
  level: verbose
accessLog:
  format: common
snigate:
  workers: -2
providers:
  file:
    watch: yes please
)y");
  expect_error(l, "entryPoints.web.protocol", 4, "unknown protocol \"redis\"");
  expect_error(l, "entryPoints.web.clientHelloTimeout", 5, "bad duration \"5 seconds\"");
  expect_error(l, "entryPoints.web.firstByteTimeout", 6, "must not be negative");
  expect_error(l, "entryPoints.web.transport.respondingTimeouts.readTimeout", 9, "bad duration");
  expect_error(l, "log.level", 11, "unknown log level \"verbose\"");
  EXPECT_TRUE(has(l.warnings, "accessLog.format", "ignored: \"common\" is Traefik's format for HTTP requests"))
      << dump(l.warnings);
  expect_error(l, "snigate.workers", 15, "0 (one per core) or more");
  expect_error(l, "providers.file.watch", 18, "expected a boolean");
  EXPECT_EQ(l.errors.size(), 7u) << dump(l.errors);
}

TEST(ConfigErrors, EntryPointAddresses) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(entryPoints:
  a: {address: "443"}
  b: {address: ":0"}
  c: {address: ":70000"}
  d: {address: "::1:443"}
  e: {address: "[::1]443"}
  f: {address: "[nothex]:443"}
  g: {address: ""}
  h: {}
  ok1: {address: ":443"}
  ok2: {address: "0.0.0.0:444"}
  ok3: {address: "[::]:445"}
  ok4: {address: "gw.example.com:8443"}
)y");
  expect_error(l, "entryPoints.a.address", 2, "has no port");
  expect_error(l, "entryPoints.b.address", 3, "1 to 65535");
  expect_error(l, "entryPoints.c.address", 4, "1 to 65535");
  expect_error(l, "entryPoints.d.address", 5, "in brackets");
  expect_error(l, "entryPoints.e.address", 6, "[v6]:port");
  expect_error(l, "entryPoints.f.address", 7, "not an IPv6 address");
  expect_error(l, "entryPoints.g.address", 8, "must not be empty");
  expect_error(l, "entryPoints.h.address", 9, "is required");
  EXPECT_EQ(l.errors.size(), 8u) << dump(l.errors);
}

TEST(ConfigErrors, TwoEntryPointsOnOneAddress) {
  TempDir dir;
  Loaded l = load_text(dir, R"y(entryPoints:
  a: {address: ":443"}
  b: {address: "127.0.0.1:443"}
  c: {address: "127.0.0.1:8443"}
  d: {address: "127.0.0.2:8443"}
  e: {address: "[::]:9443"}
  f: {address: "0.0.0.0:9443"}
)y");
  expect_error(l, "entryPoints.b.address", 3, "overlaps entry point a's \":443\" (line 2)");
  expect_error(l, "entryPoints.f.address", 7, "overlaps entry point e's");
  EXPECT_EQ(l.errors.size(), 2u) << dump(l.errors);
}

TEST(ConfigErrors, DidYouMeanOnlyForMisspellings) {
  // A deleted site3 must not be "corrected" to a different, existing site1.
  const std::vector<std::string_view> services{"site1", "site2", "postgres", "pg-old", "web"};
  EXPECT_EQ(walk::did_you_mean("site3", services), "");
  EXPECT_EQ(walk::did_you_mean("site", services), "");
  EXPECT_EQ(walk::did_you_mean("pg", services), "");
  EXPECT_EQ(walk::did_you_mean("web2", services), "");
  EXPECT_EQ(walk::did_you_mean("web-canary", services), "");
  EXPECT_EQ(walk::did_you_mean("postgress", services), "postgres");
  EXPECT_EQ(walk::did_you_mean("postgers", services), "postgres");
  EXPECT_EQ(walk::did_you_mean("Site1", services), "site1");
}

// Thousands of routers are walked by two threads: errors still come in the
// file's order, and a warning given once per file is given once.
TEST(ConfigErrors, ManyRoutersReadAsOneWalkWould) {
  TempDir dir;
  std::string text = kEntry + "tcp:\n  routers:\n";  // lines 1-5
  const int n = 6000;
  for (int k = 0; k < n; ++k) {
    const bool capital = k == 10 || k == 4000;   // "Rule": read as "rule", said once
    const bool unknown = k == 20 || k == 5000;   // "prioritty": an error each
    text += "    r" + std::to_string(k) + ":\n";
    text += std::string("      ") + (capital ? "Rule" : "rule") + ": \"HostSNI(`r" + std::to_string(k) + ".test`)\"\n";
    text += std::string("      ") + (unknown ? "prioritty" : "priority") + ": 1\n";
    text += "      service: whoami@internal\n";
  }
  Loaded l = load_text(dir, text);
  EXPECT_EQ(l.dyn.routers.size(), static_cast<std::size_t>(n));
  ASSERT_EQ(l.errors.size(), 2u) << dump(l.errors);
  EXPECT_EQ(l.errors[0].path, "tcp.routers.r20.prioritty");
  EXPECT_EQ(l.errors[0].loc.line, 6 + 4 * 20 + 2);
  EXPECT_EQ(l.errors[1].path, "tcp.routers.r5000.prioritty");
  EXPECT_EQ(l.errors[1].loc.line, 6 + 4 * 5000 + 2);
  int read_as = 0;
  for (const Error& w : l.warnings)
    if (w.message.find("read as \"rule\"") != std::string::npos) {
      ++read_as;
      EXPECT_EQ(w.loc.line, 6 + 4 * 10 + 1) << w.to_string();
    }
  EXPECT_EQ(read_as, 1) << dump(l.warnings);
  EXPECT_EQ(l.dyn.routers.at("r5999").rule, "HostSNI(`r5999.test`)");
}

TEST(ConfigErrors, RouterReferences) {
  TempDir dir;
  Loaded l = load_text(dir, kEntry + kSvc + R"y(  routers:
    a:
      rule: "  "
      service: ss
    b:
      entryPoints:
        - websecure
        - webscure
      rule: "HostSNI(`b`)"
      service: admin@internal
      tls:
        options: modren
    c:
      rule: "HostSNI(`c`)"
      service: s@docker
    d:
      rule: "HostSNI(`d`)"
      service: s@file
      tls:
        options: default
    e:
      tls: {}
tls:
  options:
    modern: {}
)y");
  expect_error(l, "tcp.routers.a.rule", 11, "must not be empty");
  expect_error(l, "tcp.routers.a.service", 12, "unknown service \"ss\" (did you mean \"s\"?)");
  expect_error(l, "tcp.routers.b.entryPoints[1]", 16, "unknown entry point \"webscure\" (did you mean \"websecure\"?)");
  expect_error(l, "tcp.routers.b.service", 18, "the only one is whoami@internal");
  expect_error(l, "tcp.routers.b.tls.options", 20, "unknown TLS options \"modren\" (did you mean \"modern\"?)");
  expect_error(l, "tcp.routers.c.service", 23, "provider \"docker\"");
  expect_error(l, "tcp.routers.e.rule", 29, "is required");
  expect_error(l, "tcp.routers.e.service", 29, "is required");
  EXPECT_EQ(l.errors.size(), 8u) << dump(l.errors);
  EXPECT_EQ(l.dyn.routers.at("d").service, "s");
}

TEST(ConfigErrors, Services) {
  TempDir dir;
  Loaded l = load_text(dir, kEntry + R"y(tcp:
  services:
    empty:
      loadBalancer:
        servers: []
    nolb: {}
    w:
      weighted:
        services: [{name: a, weight: 1}]
    pp:
      loadBalancer:
        proxyProtocol: {version: 2}
        serversTransport: nope
        servers:
          - address: "backend"
          - tls: true
          - address: "[::1]:99999"
          - address: ":80"
)y");
  expect_error(l, "tcp.services.empty.loadBalancer.servers", 8, "has no servers");
  expect_error(l, "tcp.services.nolb.loadBalancer", 9, "is required");
  expect_error(l, "tcp.services.w.weighted.services[0].name", 12, "unknown service \"a\"");
  expect_error(l, "tcp.services.pp.loadBalancer.serversTransport", 16, "unknown servers transport \"nope\"");
  expect_error(l, "tcp.services.pp.loadBalancer.servers[0].address", 18, "has no port");
  expect_error(l, "tcp.services.pp.loadBalancer.servers[1].address", 19, "is required");
  expect_error(l, "tcp.services.pp.loadBalancer.servers[2].address", 20, "1 to 65535");
  expect_error(l, "tcp.services.pp.loadBalancer.servers[3].address", 21, "has no host");
  EXPECT_EQ(l.errors.size(), 8u) << dump(l.errors);
}

TEST(ConfigErrors, TransportsAndTls) {
  TempDir dir;
  dir.write("ok.pem", "x");
  dir.write("adir/x", "x");
  Loaded l = load_text(dir, kEntry + R"y(tcp:
  serversTransports:
    t:
      dialTimeout: soon
      spiffe: {ids: [a]}
      tls:
        peerCertURI: spiffe://x
        rootCAs: [ok.pem, missing-ca.pem]
        certificates:
          - certFile: ok.pem
tls:
  certificates:
    - certFile: nope.pem
      keyFile: adir
  options:
    o:
      minVersion: VersionTLS14
      maxVersion: versiontls13
      clientAuth:
        clientAuthType: RequireCert
        caFiles: [gone.pem]
  stores:
    default:
      defaultCertificate:
        certFile: ""
        keyFile: ok.pem
)y");
  expect_error(l, "tcp.serversTransports.t.dialTimeout", 7, "bad duration \"soon\"");
  expect_error(l, "tcp.serversTransports.t.spiffe", 8, "SPIFFE is not supported");
  expect_error(l, "tcp.serversTransports.t.tls.peerCertURI", 10, "not supported");
  expect_error(l, "tcp.serversTransports.t.tls.rootCAs[1]", 11, "missing-ca.pem\" does not exist");
  expect_error(l, "tcp.serversTransports.t.tls.certificates[0].keyFile", 13, "is required");
  expect_error(l, "tls.certificates[0].certFile", 16, dir.path("nope.pem") + "\" does not exist");
  expect_error(l, "tls.certificates[0].keyFile", 17, "is a directory");
  expect_error(l, "tls.options.o.minVersion", 20, "unknown value \"VersionTLS14\"");
  expect_error(l, "tls.options.o.maxVersion", 21, "(did you mean \"VersionTLS13\"?)");
  expect_error(l, "tls.options.o.clientAuth.clientAuthType", 23, "RequireAndVerifyClientCert");
  expect_error(l, "tls.options.o.clientAuth.caFiles[0]", 24, "does not exist");
  expect_error(l, "tls.stores.default.defaultCertificate.certFile", 28, "must not be empty");
  EXPECT_EQ(l.errors.size(), 12u) << dump(l.errors);
}

// A certificate path snigate cannot read is an error that says why. A directory
// is no file for anyone, so that half runs as root too (CI runs as root); mode 0
// stops only a user who is not root.
TEST(ConfigErrors, UnreadableCertificate) {
  TempDir dir;
  std::string key = dir.write("k.pem", "x");
  dir.write("certs/readme", "");
  ASSERT_EQ(::chmod(key.c_str(), 0), 0);
  Loaded l = load_text(dir, kEntry + "tls:\n  certificates:\n    - certFile: certs\n      keyFile: k.pem\n");
  expect_error(l, "tls.certificates[0].certFile", 6, "\"" + dir.path("certs") + "\" is a directory, not a file");
  if (::geteuid() == 0) {
    EXPECT_EQ(l.errors.size(), 1u) << "root reads a mode 0 file: " << dump(l.errors);
  } else {
    expect_error(l, "tls.certificates[0].keyFile", 7, "file \"" + dir.path("k.pem") + "\" is not readable");
    EXPECT_EQ(l.errors.size(), 2u) << dump(l.errors);
  }
}

TEST(ConfigErrors, FileProvider) {
  TempDir dir;
  Loaded both = load_text(dir, kEntry + "providers:\n  file:\n    filename: a.yml\n    directory: d\n");
  expect_error(both, "providers.file", 7, "mutually exclusive");

  Loaded missing = load_text(dir, kEntry + "providers:\n  file:\n    filename: a.yml\n");
  expect_error(missing, "providers.file.filename", 6, dir.path("a.yml") + "\" does not exist");

  Loaded nodir = load_text(dir, kEntry + "providers:\n  file:\n    directory: d\n");
  expect_error(nodir, "providers.file.directory", 6, "is not a directory");
}

TEST(ConfigErrors, YamlSyntaxErrors) {
  TempDir dir;
  Loaded l = load_text(dir, "entryPoints:\n  web:\n    address: [\":443\"\n  other: 1\n");
  ASSERT_EQ(l.errors.size(), 1u) << dump(l.errors);
  EXPECT_EQ(l.errors[0].loc.file, dir.path("s.yml"));
  EXPECT_GT(l.errors[0].loc.line, 0);
  EXPECT_NE(l.errors[0].message.find("YAML syntax error"), std::string::npos);

  // In a dynamic file: reported with that file's name; the static part still loads.
  dir.write("d/bad.yml", "tcp:\n  routers:\n    r: {rule: \"x\"\n");
  Loaded d = load_text(dir, kEntry + "providers:\n  file:\n    directory: d\n");
  ASSERT_EQ(d.errors.size(), 1u) << dump(d.errors);
  EXPECT_EQ(d.errors[0].loc.file, dir.path("d/bad.yml"));
  EXPECT_EQ(d.stat.entry_points.size(), 1u);

  Loaded none = load(dir.path("does-not-exist.yml"));
  ASSERT_EQ(none.errors.size(), 1u);
  EXPECT_NE(none.errors[0].message.find("cannot read"), std::string::npos);
}

TEST(ConfigErrors, DuplicateKeysInOneMap) {
  TempDir dir;
  Loaded l = load_text(dir, kEntry + kSvc + R"y(  routers:
    r:
      rule: "HostSNI(`a`)"
      service: s
      rule: "HostSNI(`b`)"
    r:
      rule: "HostSNI(`c`)"
      service: s
)y");
  expect_error(l, "tcp.routers.r.rule", 13, "duplicate key \"rule\" (first at line 11)");
  expect_error(l, "tcp.routers.r", 14, "duplicate key \"r\" (first at line 10)");
  EXPECT_EQ(l.dyn.routers.at("r").rule, "HostSNI(`a`)");
}

TEST(ConfigErrors, StaticKeyInProviderFile) {
  TempDir dir;
  dir.write("dyn.yml", "entryPoints:\n  web:\n    address: \":80\"\n");
  Loaded l = load_text(dir, kEntry + "providers:\n  file:\n    filename: dyn.yml\n");
  expect_error(l, "entryPoints", 1, "belongs to the static configuration");
  EXPECT_EQ(l.errors.at(0).loc.file, dir.path("dyn.yml"));
}

TEST(ConfigErrors, NotAMapAtTheTop) {
  TempDir dir;
  Loaded l = load_text(dir, "- a\n- b\n");
  expect_error(l, "", 1, "expected a map, found a list");
}

TEST(ConfigErrors, DidYouMeanIgnoresCase) {
  TempDir dir;
  Loaded l = load_text(dir, kEntry + "TCPP: {}\naccesslogs: {}\n");
  ASSERT_EQ(l.errors.size(), 2u) << dump(l.errors);
  EXPECT_EQ(l.errors[0].loc.line, 4);
  EXPECT_EQ(l.errors[0].message, "unknown key \"TCPP\" (did you mean \"tcp\"?)");
  EXPECT_TRUE(has(l.errors, "accesslogs", "unknown key \"accesslogs\" (did you mean \"accessLog\"?)"));
}

}  // namespace
}  // namespace snigate::config
