// Loading whole configurations: static + dynamic in one file, separate files via
// providers.file.filename and .directory, merging, paths, defaults, warnings.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace snigate::config {
namespace {

using test::dump;
using test::has;
using test::one;
using test::TempDir;

// A realistic Traefik v3 configuration for TCP, static and dynamic in one file.
constexpr const char* kFull = R"y(entryPoints:
  websecure:
    address: ":443"
    transport:
      lifeCycle:
        graceTimeOut: 30s
      respondingTimeouts:
        readTimeout: 3s
  mysql:
    address: "127.0.0.1:3306"
    protocol: mysql
    clientHelloTimeout: 2s
    firstByteTimeout: 500ms
    reusePort: true
  pg:
    address: "[::1]:5432"
    protocol: postgres
providers:
  file:
    watch: false
log:
  level: debug
accessLog:
  filePath: /var/log/snigate/access.json
  format: json
snigate:
  workers: 4
tcp:
  routers:
    db:
      entryPoints: [mysql, pg]
      rule: "HostSNI(`db.example.com`)"
      service: db@file
      priority: 10
      tls:
        options: modern
    pass:
      entryPoints:
        - websecure
      rule: "HostSNI(`pass.example.com`)"
      service: web
      tls:
        passthrough: true
    catchall:
      rule: "HostSNI(`*`)"
      service: whoami@internal
      tls: {}
  services:
    db:
      loadBalancer:
        servers:
          - address: "10.0.0.1:3306"
          - address: "db2.internal:3306"
            tls: true
        serversTransport: backend
    web:
      loadBalancer:
        servers:
          - address: "[2001:db8::1]:443"
  serversTransports:
    backend:
      dialTimeout: 5s
      terminationDelay: 200ms
      tls:
        serverName: db.internal
        insecureSkipVerify: true
        rootCAs: [ca.pem]
        certificates:
          - certFile: client.pem
            keyFile: client.key
tls:
  certificates:
    - certFile: certs/example.pem
      keyFile: certs/example.key
      stores: [default]
  stores:
    default:
      defaultCertificate:
        certFile: certs/example.pem
        keyFile: certs/example.key
  options:
    modern:
      minVersion: VersionTLS13
      maxVersion: VersionTLS13
      sniStrict: true
      disableSessionTickets: true
      alpnProtocols: [h2]
      cipherSuites: [TLS_AES_128_GCM_SHA256]
      curvePreferences: [X25519, CurveP256]
      clientAuth:
        caFiles: [ca.pem]
        clientAuthType: RequireAndVerifyClientCert
)y";

TEST(ConfigLoad, FullConfigInOneFile) {
  TempDir dir;
  for (const char* f : {"ca.pem", "client.pem", "client.key", "certs/example.pem", "certs/example.key"})
    dir.write(f, "x");
  std::string path = dir.write("snigate.yml", kFull);
  Loaded l = load(path);
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);

  const Static& s = l.stat;
  ASSERT_EQ(s.entry_points.size(), 3u);
  const EntryPoint& web = s.entry_points.at("websecure");
  EXPECT_EQ(web.address, ":443");
  EXPECT_EQ(web.loc.line, 2);
  EXPECT_EQ(web.grace_timeout, Duration(30'000));
  EXPECT_EQ(web.client_hello_timeout, Duration(3'000));
  EXPECT_EQ(web.protocol, Protocol::tcp);
  const EntryPoint& my = s.entry_points.at("mysql");
  EXPECT_EQ(my.protocol, Protocol::mysql);
  EXPECT_EQ(my.client_hello_timeout, Duration(2'000));
  EXPECT_EQ(my.first_byte_timeout, Duration(500));
  EXPECT_TRUE(my.reuse_port);
  EXPECT_FALSE(web.reuse_port);
  EXPECT_EQ(s.entry_points.at("pg").address, "[::1]:5432");
  EXPECT_EQ(s.entry_points.at("pg").protocol, Protocol::postgres);
  EXPECT_FALSE(s.watch);
  EXPECT_EQ(s.log_level, "DEBUG");
  EXPECT_TRUE(s.access_log);
  EXPECT_EQ(s.access_log_path, "/var/log/snigate/access.json");
  EXPECT_EQ(s.workers, 4);
  EXPECT_EQ(s.static_file, path);

  const Dynamic& d = l.dyn;
  ASSERT_EQ(d.routers.size(), 3u);
  const Router& db = d.routers.at("db");
  EXPECT_EQ(db.entry_points, (std::vector<std::string>{"mysql", "pg"}));
  EXPECT_EQ(db.rule, "HostSNI(`db.example.com`)");
  EXPECT_EQ(db.rule_loc.line, 32);
  EXPECT_EQ(db.rule_loc.file, path);
  EXPECT_EQ(db.service, "db");  // @file stripped
  EXPECT_EQ(db.service_loc.line, 33);
  EXPECT_EQ(db.priority, 10);
  ASSERT_TRUE(db.tls);
  EXPECT_FALSE(db.tls->passthrough);
  EXPECT_EQ(db.tls->options, "modern");
  const Router& pass = d.routers.at("pass");
  EXPECT_TRUE(pass.tls && pass.tls->passthrough);
  EXPECT_FALSE(pass.priority);
  const Router& all = d.routers.at("catchall");
  EXPECT_TRUE(all.entry_points.empty());
  EXPECT_EQ(all.service, "whoami@internal");
  ASSERT_TRUE(all.tls);

  const Service& svc = d.services.at("db");
  ASSERT_EQ(svc.servers.size(), 2u);
  EXPECT_EQ(svc.servers[0].address, "10.0.0.1:3306");
  EXPECT_FALSE(svc.servers[0].tls);
  EXPECT_TRUE(svc.servers[1].tls);
  EXPECT_EQ(svc.servers[1].loc.line, 53);
  EXPECT_EQ(svc.servers_transport, "backend");
  EXPECT_EQ(d.services.at("web").servers.at(0).address, "[2001:db8::1]:443");

  const ServersTransport& t = d.servers_transports.at("backend");
  EXPECT_EQ(t.dial_timeout, Duration(5'000));
  EXPECT_EQ(t.termination_delay, Duration(200));
  EXPECT_EQ(t.server_name, "db.internal");
  EXPECT_TRUE(t.insecure_skip_verify);
  EXPECT_EQ(t.root_cas, (std::vector<std::string>{dir.path("ca.pem")}));
  ASSERT_EQ(t.certificates.size(), 1u);
  EXPECT_EQ(t.certificates[0].cert_file, dir.path("client.pem"));
  EXPECT_EQ(t.certificates[0].key_file, dir.path("client.key"));

  ASSERT_EQ(d.certificates.size(), 1u);
  EXPECT_EQ(d.certificates[0].cert_file, dir.path("certs/example.pem"));
  EXPECT_EQ(d.certificates[0].loc.line, 73);
  ASSERT_TRUE(d.default_certificate);
  EXPECT_EQ(d.default_certificate->key_file, dir.path("certs/example.key"));
  const TlsOptions& o = d.tls_options.at("modern");
  EXPECT_EQ(o.min_version, "VersionTLS13");
  EXPECT_EQ(o.max_version, "VersionTLS13");
  EXPECT_TRUE(o.sni_strict);
  EXPECT_TRUE(o.disable_session_tickets);
  EXPECT_EQ(o.alpn_protocols, (std::vector<std::string>{"h2"}));
  EXPECT_EQ(o.cipher_suites, (std::vector<std::string>{"TLS_AES_128_GCM_SHA256"}));
  EXPECT_EQ(o.curve_preferences, (std::vector<std::string>{"X25519", "CurveP256"}));
  EXPECT_EQ(o.client_ca_files, (std::vector<std::string>{dir.path("ca.pem")}));
  EXPECT_EQ(o.client_auth_type, "RequireAndVerifyClientCert");
}

TEST(ConfigLoad, Defaults) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(entryPoints:
  web:
    address: ":443"
tcp:
  routers:
    r:
      rule: "HostSNI(`*`)"
      service: s
  services:
    s:
      loadBalancer:
        servers: [{address: "a:1"}]
  serversTransports:
    t: {}
tls:
  options:
    default: {}
)y"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  const EntryPoint& ep = l.stat.entry_points.at("web");
  EXPECT_EQ(ep.grace_timeout, Duration(10'000));
  EXPECT_EQ(ep.tcp_idle_timeout, Duration(3'600'000));
  EXPECT_EQ(ep.accept_grace_timeout, Duration(0));
  EXPECT_EQ(ep.client_hello_timeout, Duration(5'000));
  EXPECT_EQ(ep.first_byte_timeout, Duration(1'000));
  EXPECT_FALSE(ep.reuse_port);
  EXPECT_EQ(ep.protocol, Protocol::tcp);
  EXPECT_TRUE(l.stat.watch);
  EXPECT_EQ(l.stat.log_level, "INFO");
  EXPECT_FALSE(l.stat.access_log);
  EXPECT_EQ(l.stat.access_log_path, "");
  EXPECT_EQ(l.stat.workers, 0);
  const Router& r = l.dyn.routers.at("r");
  EXPECT_FALSE(r.tls);
  EXPECT_FALSE(r.priority);
  EXPECT_TRUE(r.entry_points.empty());
  EXPECT_EQ(l.dyn.services.at("s").servers_transport, "");
  const ServersTransport& t = l.dyn.servers_transports.at("t");
  EXPECT_EQ(t.dial_timeout, Duration(30'000));
  EXPECT_EQ(t.termination_delay, Duration(100));
  const TlsOptions& o = l.dyn.tls_options.at("default");
  EXPECT_EQ(o.min_version, "VersionTLS12");
  EXPECT_EQ(o.client_auth_type, "NoClientCert");
  EXPECT_TRUE(o.alpn_protocols.empty());  // no ALPN unless configured
  EXPECT_FALSE(l.dyn.default_certificate);
}

TEST(ConfigLoad, AccessLogPresentButEmptyMeansStdout) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + "accessLog: {}\n"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.stat.access_log);
  EXPECT_EQ(l.stat.access_log_path, "-");
  Loaded l2 = load(dir.write("s2.yml", std::string(test::kEntry) + "accessLog:\n"));
  ASSERT_TRUE(l2.errors.empty()) << dump(l2.errors);
  EXPECT_TRUE(l2.stat.access_log);
  EXPECT_EQ(l2.stat.access_log_path, "-");
}

TEST(ConfigLoad, RouterTlsNullMeansPresent) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(tcp:
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: whoami@internal
      tls:
)y"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  ASSERT_TRUE(l.dyn.routers.at("r").tls);
  EXPECT_FALSE(l.dyn.routers.at("r").tls->passthrough);
}

TEST(ConfigLoad, RouterMysqlAllowPlaintext) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(tcp:
  routers:
    open:
      rule: "HostSNI(`a`)"
      service: whoami@internal
      tls: {}
      mysql:
        allowPlaintext: true
    closed:
      rule: "HostSNI(`b`)"
      service: whoami@internal
      tls: {}
    typo:
      rule: "HostSNI(`c`)"
      service: whoami@internal
      mysql:
        allowPlaintxt: true
)y"));
  EXPECT_TRUE(l.dyn.routers.at("open").mysql_allow_plaintext);
  EXPECT_FALSE(l.dyn.routers.at("closed").mysql_allow_plaintext);
  ASSERT_EQ(l.errors.size(), 1u) << dump(l.errors);
  EXPECT_EQ(l.errors[0].path, "tcp.routers.typo.mysql.allowPlaintxt");
}

TEST(ConfigLoad, SeparateDynamicFileViaFilename) {
  TempDir dir;
  dir.write("dyn/certs/a.pem", "x");
  dir.write("dyn/certs/a.key", "x");
  dir.write("dyn/routes.yaml", R"y(tcp:
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: s
  services:
    s:
      loadBalancer:
        servers: [{address: "a:1"}]
tls:
  certificates:
    - certFile: certs/a.pem
      keyFile: certs/a.key
)y");
  std::string path = dir.write("conf/static.yml", std::string(test::kEntry) +
                                                      "providers:\n  file:\n    filename: ../dyn/routes.yaml\n");
  Loaded l = load(path);
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.stat.file_filename, dir.path("dyn/routes.yaml"));
  ASSERT_EQ(l.dyn.routers.size(), 1u);
  EXPECT_EQ(l.dyn.routers.at("r").rule_loc.file, dir.path("dyn/routes.yaml"));
  EXPECT_EQ(l.dyn.routers.at("r").rule_loc.line, 4);
  // Certificate paths are relative to the file that names them.
  EXPECT_EQ(l.dyn.certificates.at(0).cert_file, dir.path("dyn/certs/a.pem"));

  // load_dynamic reads the same files again, on reload.
  dir.write("dyn/routes.yaml", R"y(tcp:
  routers:
    r2:
      rule: "HostSNI(`b`)"
      service: whoami@internal
)y");
  Loaded again;
  load_dynamic(l.stat, again);
  ASSERT_TRUE(again.errors.empty()) << dump(again.errors);
  EXPECT_EQ(again.dyn.routers.size(), 1u);
  EXPECT_TRUE(again.dyn.routers.count("r2"));
}

TEST(ConfigLoad, DirectoryMergesSortedYamlFiles) {
  TempDir dir;
  dir.write("d/10-services.yml", R"y(tcp:
  services:
    s:
      loadBalancer:
        servers: [{address: "a:1"}]
)y");
  dir.write("d/20-routers.yaml", R"y(tcp:
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: s
)y");
  dir.write("d/sub/30-more.yml", R"y(tcp:
  routers:
    r3:
      rule: "HostSNI(`c`)"
      service: s@file
)y");
  dir.write("d/empty.yml", "");
  dir.write("d/comment-only.yaml", "# nothing yet\n");
  dir.write("d/README.md", "not yaml");
  dir.write("d/old.toml", "[tcp]");
  std::string path =
      dir.write("static.yml", std::string(test::kEntry) + "providers:\n  file:\n    directory: d\n    watch: true\n");
  Loaded l = load(path);
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.stat.file_directory, dir.path("d"));
  EXPECT_EQ(l.dyn.routers.size(), 2u);
  EXPECT_EQ(l.dyn.services.size(), 1u);
  EXPECT_EQ(l.dyn.routers.at("r3").service, "s");
  ASSERT_EQ(l.warnings.size(), 1u) << dump(l.warnings);
  EXPECT_EQ(l.warnings[0].loc.file, dir.path("d/old.toml"));
}

TEST(ConfigLoad, DuplicateNamesAcrossDirectoryFilesKeepTheFirst) {
  TempDir dir;
  std::string a = dir.write("d/a.yml", R"y(tcp:
  services:
    s:
      loadBalancer:
        servers: [{address: "a:1"}]
)y");
  std::string b = dir.write("d/b.yml", R"y(tcp:
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: s
  services:
    s:
      loadBalancer:
        servers: [{address: "b:1"}]
)y");
  Loaded l = load(dir.write("static.yml", std::string(test::kEntry) + "providers:\n  file:\n    directory: d\n"));
  // In a directory the first definition is kept, as in Traefik (see config_keys_test.cpp).
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  const Error& e = one(l.warnings, "tcp.services.s");
  EXPECT_EQ(e.loc.file, b);
  EXPECT_EQ(e.loc.line, 7);
  EXPECT_EQ(e.to_string(), b + ":7: tcp.services.s: ignored: \"s\" is defined in two files; the first, at " + a +
                               ":3, is kept (files are read in name order, as Traefik does)");
  EXPECT_EQ(l.dyn.services.at("s").servers.at(0).address, "a:1");
}

TEST(ConfigLoad, StaticFileAndFilenameBothHoldDynamicParts) {
  TempDir dir;
  dir.write("dyn.yml", R"y(tcp:
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: whoami@internal
)y");
  Loaded l = load(dir.write("static.yml", std::string(test::kEntry) + R"y(providers:
  file:
    filename: dyn.yml
tcp:
  routers:
    r:
      rule: "HostSNI(`b`)"
      service: whoami@internal
)y"));
  EXPECT_EQ(one(l.errors, "tcp.routers.r").loc.file, dir.path("dyn.yml"));
}

TEST(ConfigLoad, FilenamePointingAtStaticFileIsReadOnce) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(providers:
  file:
    filename: s.yml
tcp:
  routers:
    r:
      rule: "HostSNI(`b`)"
      service: whoami@internal
)y"));
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.dyn.routers.size(), 1u);
}

TEST(ConfigLoad, InlinePemIsKeptAsIs) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(tls:
  certificates:
    - certFile: |
        -----BEGIN CERTIFICATE-----
        MIIB
        -----END CERTIFICATE-----
      keyFile: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
)y"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  ASSERT_EQ(l.dyn.certificates.size(), 1u);
  EXPECT_EQ(l.dyn.certificates[0].cert_file.rfind("-----BEGIN CERTIFICATE-----\nMIIB\n", 0), 0u);
  EXPECT_EQ(l.dyn.certificates[0].key_file.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
}

TEST(ConfigLoad, AbsolutePathsStay) {
  TempDir dir;
  std::string cert = dir.write("abs/c.pem", "x");
  std::string key = dir.write("abs/c.key", "x");
  Loaded l = load(dir.write("conf/s.yml", std::string(test::kEntry) + "tls:\n  stores:\n    default:\n"
                                          "      defaultCertificate:\n        certFile: " + cert +
                                          "\n        keyFile: " + key + "\n"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.dyn.default_certificate->cert_file, cert);
}

TEST(ConfigLoad, EmptyDynamicFileAndEmptyStaticFile) {
  TempDir dir;
  dir.write("dyn.yml", "");
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + "providers:\n  file:\n    filename: dyn.yml\n"));
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.dyn.routers.empty());
  Loaded e = load(dir.write("empty.yml", ""));
  EXPECT_TRUE(e.errors.empty()) << dump(e.errors);
  EXPECT_TRUE(has(e.warnings, "entryPoints", "no entry point"));
}

TEST(ConfigLoad, IgnoredTraefikKeysWarn) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(global:
  checkNewVersion: false
api:
  dashboard: true
entryPoints:
  web:
    address: ":443"
    http:
      tls: {}
    transport:
      keepAliveMaxRequests: 5
      respondingTimeouts:
        writeTimeout: 60s
providers:
  docker: {}
log:
  format: json
accessLog:
  bufferingSize: 100
http:
  routers: {}
tcp:
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: whoami@internal
      middlewares: []
      tls: {}
)y"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  for (const char* p :
       {"global", "entryPoints.web.http", "entryPoints.web.transport.keepAliveMaxRequests",
        "entryPoints.web.transport.respondingTimeouts.writeTimeout", "providers.docker",
        "log.format", "accessLog.bufferingSize", "http"}) {
    Error w = one(l.warnings, p);
    EXPECT_EQ(w.message.rfind("ignored: ", 0), 0u) << w.to_string();
    EXPECT_GT(w.loc.line, 0) << p;
  }
  EXPECT_FALSE(has(l.warnings, "tcp.routers.r.middlewares", "")) << "an empty list restricts nothing";
  EXPECT_TRUE(has(l.warnings, "api", "api.insecure is false, so the API and the dashboard are served nowhere"));
  EXPECT_EQ(l.stat.entry_points.count("traefik"), 0u);
}

// Settings that restrict who may connect, or say where a client comes from,
// are never accepted and ignored: until snigate applies them they are errors.
TEST(ConfigLoad, SecuritySettingsAreRefusedNotIgnored) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(entryPoints:
  web:
    address: ":443"
    proxyProtocol:
      insecure: false
tcp:
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: whoami@internal
      tls: {}
)y"));
  EXPECT_EQ(one(l.errors, "entryPoints.web.proxyProtocol.trustedIPs").loc.line, 4);
  EXPECT_TRUE(has(l.errors, "entryPoints.web.proxyProtocol.trustedIPs", "trusts no one"));
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);
}

TEST(ConfigLoad, OtherWarnings) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(tcp:
  routers:
    r:
      rule: "HostSNI(`a`)"
      service: whoami@internal
      tls:
        passthrough: true
        options: modern
  services:
    s:
      loadBalancer:
        terminationDelay: 100
        servers: [{address: "a:1"}]
  serversTransports:
    t:
      dialKeepAlive: 15s
tls:
  options:
    modern:
      preferServerCipherSuites: true
  stores:
    other:
      defaultCertificate: {}
    default:
      defaultGeneratedCert:
        resolver: le
)y"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(one(l.warnings, "tcp.routers.r.tls.options").loc.line, 11);
  EXPECT_TRUE(has(l.warnings, "tcp.services.s.loadBalancer.terminationDelay", "deprecated"));
  one(l.warnings, "tls.options.modern.preferServerCipherSuites");
  EXPECT_EQ(one(l.warnings, "tls.stores.other").loc.line, 25);
  one(l.warnings, "tls.stores.default.defaultGeneratedCert");
}

TEST(ConfigLoad, TcpServersTransportIsTheDefaultTransport) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + "tcpServersTransport:\n  dialTimeout: 3s\n"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.dyn.servers_transports.at("default").dial_timeout, Duration(3'000));
}

TEST(ConfigLoad, NegativeTerminationDelayMeansNoLimit) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) +
                                         "tcp:\n  serversTransports:\n    t:\n      terminationDelay: -1s\n"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_LT(l.dyn.servers_transports.at("t").termination_delay.count(), 0);
}

TEST(ConfigLoad, UdpEntryPointIsLeftOut) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", "entryPoints:\n  dns:\n    address: \":53/udp\"\n  web:\n    address: \":443/tcp\"\n"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.stat.entry_points.count("dns"), 0u);
  EXPECT_EQ(l.stat.entry_points.at("web").address, ":443");
  EXPECT_EQ(one(l.warnings, "entryPoints.dns.address").loc.line, 3);
}

TEST(ConfigLoad, BuiltinDefault) {
  Loaded l = builtin_default();
  EXPECT_TRUE(l.errors.empty());
  ASSERT_EQ(l.stat.entry_points.size(), 2u);
  EXPECT_EQ(l.stat.entry_points.at("default").address, "127.0.0.1:8443");
  EXPECT_EQ(l.stat.entry_points.at("traefik").address, "127.0.0.1:8080");
  EXPECT_TRUE(l.stat.entry_points.at("traefik").admin);
  EXPECT_TRUE(l.stat.api && l.stat.api->insecure && l.stat.prometheus && l.stat.ping);
  ASSERT_EQ(l.dyn.routers.size(), 1u);
  const Router& r = l.dyn.routers.at("default");
  EXPECT_EQ(r.rule, "HostSNI(`*`)");
  EXPECT_EQ(r.service, "whoami@internal");
  ASSERT_TRUE(r.tls);
  EXPECT_FALSE(r.tls->passthrough);
}

std::string error_text(const char* file, int line, const char* path, const char* message) {
  Error e;  // field by field: GCC 12 -O3 warns about brace-initialized temporaries here
  e.loc.file = file;
  e.loc.line = line;
  e.path = path;
  e.message = message;
  return e.to_string();
}

TEST(ConfigLoad, ErrorToString) {
  EXPECT_EQ(error_text("a.yml", 3, "tcp.routers.r", "bad"), "a.yml:3: tcp.routers.r: bad");
  EXPECT_EQ(error_text("a.yml", 0, "", "bad"), "a.yml: bad");
  EXPECT_EQ(error_text("", 0, "x", "bad"), "x: bad");
}

}  // namespace
}  // namespace snigate::config
