// Key names as Traefik reads them: any case, YAML merge keys, x- keys that
// hold anchors, a name defined in two files of a directory, keys of newer
// Traefik versions that have no TCP meaning, healthCheck.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace snigate::config {
namespace {

using test::dump;
using test::has;
using test::one;
using test::TempDir;

std::string spelling(const std::string& written, const std::string& canonical) {
  return "\"" + written + "\" read as \"" + canonical +
         "\" (key names ignore case, as in Traefik; this spelling is reported once per file)";
}

TEST(ConfigKeys, EveryCaseOfAKeyIsRead) {
  TempDir dir;
  dir.write("c.pem", "x");
  dir.write("k.pem", "x");
  std::string s = dir.write("s.yml", R"y(entrypoints:
  WebSecure:
    ADDRESS: ":8443"
    Transport:
      lifecycle:
        gracetimeout: 3s
tcp:
  Routers:
    MyRouter:
      RULE: "HostSNI(`a`)"
      service: MySvc
      Tls: {PassThrough: true}
  services:
    MySvc:
      loadbalancer:
        SERVERS: [{Address: "b:1"}]
tls:
  certificates:
    - certfile: c.pem
      KeyFile: k.pem
accesslog: {}
)y");
  Loaded l = load(s);
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  // User-chosen names stay as written.
  ASSERT_EQ(l.stat.entry_points.count("WebSecure"), 1u);
  EXPECT_EQ(l.stat.entry_points.at("WebSecure").address, ":8443");
  EXPECT_EQ(l.stat.entry_points.at("WebSecure").grace_timeout, Duration(3000));
  ASSERT_EQ(l.dyn.routers.count("MyRouter"), 1u);
  const Router& r = l.dyn.routers.at("MyRouter");
  EXPECT_EQ(r.rule, "HostSNI(`a`)");
  EXPECT_EQ(r.service, "MySvc");
  ASSERT_TRUE(r.tls);
  EXPECT_TRUE(r.tls->passthrough);
  ASSERT_EQ(l.dyn.services.at("MySvc").servers.size(), 1u);
  EXPECT_EQ(l.dyn.services.at("MySvc").servers[0].address, "b:1");
  ASSERT_EQ(l.dyn.certificates.size(), 1u);
  EXPECT_EQ(l.dyn.certificates[0].cert_file, dir.path("c.pem"));
  EXPECT_TRUE(l.stat.access_log);

  EXPECT_EQ(one(l.warnings, "entryPoints").to_string(), s + ":1: entryPoints: " + spelling("entrypoints", "entryPoints"));
  EXPECT_EQ(one(l.warnings, "entryPoints.WebSecure.address").loc.line, 3);
  EXPECT_EQ(one(l.warnings, "entryPoints.WebSecure.transport.lifeCycle.graceTimeOut").message,
            spelling("gracetimeout", "graceTimeOut"));
  EXPECT_EQ(one(l.warnings, "tcp.routers").loc.line, 8);
  EXPECT_EQ(one(l.warnings, "tcp.routers.MyRouter.tls.passthrough").message, spelling("PassThrough", "passthrough"));
  EXPECT_EQ(one(l.warnings, "tcp.services.MySvc.loadBalancer").loc.line, 15);
  EXPECT_EQ(one(l.warnings, "tcp.services.MySvc.loadBalancer.servers[0].address").message,
            spelling("Address", "address"));
  EXPECT_EQ(one(l.warnings, "tls.certificates[0].certFile").loc.line, 19);
  EXPECT_EQ(one(l.warnings, "tls.certificates[0].keyFile").message, spelling("KeyFile", "keyFile"));
  EXPECT_EQ(one(l.warnings, "accessLog").loc.line, 21);
  EXPECT_EQ(l.warnings.size(), 15u) << dump(l.warnings);
}

TEST(ConfigKeys, ASpellingIsReportedOncePerFile) {
  TempDir dir;
  std::string dyn_text = R"y(tcp:
  services:
    a:
      loadbalancer: {servers: [{address: "a:1"}]}
    b:
      loadbalancer: {servers: [{address: "b:1"}]}
    c:
      LoadBalancer: {servers: [{address: "c:1"}]}
)y";
  std::string d1 = dir.write("d/1.yml", dyn_text);
  std::string d2 = dir.write("d/2.yml", "tcp:\n  services:\n    z:\n      loadbalancer: {servers: [{address: \"z:1\"}]}\n");
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + "providers:\n  file:\n    directory: d\n"));
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.dyn.services.size(), 4u);
  std::vector<Error> lower, title;
  for (const Error& w : l.warnings) {
    if (w.message == spelling("loadbalancer", "loadBalancer")) lower.push_back(w);
    if (w.message == spelling("LoadBalancer", "loadBalancer")) title.push_back(w);
  }
  // One per file for "loadbalancer" (the first use, line 4), one for the other spelling.
  ASSERT_EQ(lower.size(), 2u) << dump(l.warnings);
  EXPECT_EQ(lower[0].loc.file, d1);
  EXPECT_EQ(lower[0].loc.line, 4);
  EXPECT_EQ(lower[1].loc.file, d2);
  ASSERT_EQ(title.size(), 1u) << dump(l.warnings);
  EXPECT_EQ(title[0].loc.line, 8);
  EXPECT_EQ(l.warnings.size(), 3u) << dump(l.warnings);
}

TEST(ConfigKeys, TwoSpellingsOfOneKeyAreADuplicate) {
  TempDir dir;
  std::string s = dir.write("s.yml", std::string(test::kEntry) + R"y(tcp:
  services:
    s:
      loadBalancer:
        servers: [{address: "a:1"}]
      loadbalancer:
        servers: [{address: "b:1"}]
)y");
  Loaded l = load(s);
  ASSERT_EQ(l.errors.size(), 1u) << dump(l.errors);
  EXPECT_EQ(l.errors[0].to_string(),
            s + ":9: tcp.services.s.loadBalancer: duplicate key \"loadbalancer\": the same key as \"loadBalancer\" "
                "at line 7 (key names ignore case)");
}

TEST(ConfigKeys, UserNamesKeepTheirCase) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(entryPoints:
  WebSecure: {address: ":8443"}
tcp:
  routers:
    Web: {rule: "HostSNI(`a`)", service: s, entryPoints: [websecure]}
    web: {rule: "HostSNI(`b`)", service: S}
  services:
    s:
      loadBalancer: {servers: [{address: "a:1"}]}
)y"));
  // "Web" and "web" are two routers; names are matched exactly.
  EXPECT_EQ(l.dyn.routers.size(), 2u);
  EXPECT_TRUE(has(l.errors, "tcp.routers.Web.entryPoints[0]",
                  "unknown entry point \"websecure\" (did you mean \"WebSecure\"?)"))
      << dump(l.errors);
  EXPECT_TRUE(has(l.errors, "tcp.routers.web.service", "unknown service \"S\" (did you mean \"s\"?)")) << dump(l.errors);
  EXPECT_EQ(l.errors.size(), 2u) << dump(l.errors);
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);
}

TEST(ConfigKeys, MisspellingsStillGetDidYouMean) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(tcp:
  services:
    s:
      loadBalancr:
        servers: [{address: "a:1"}]
      LoadBalancerz: {}
      zzz: {}
      lb: {}
)y"));
  EXPECT_EQ(one(l.errors, "tcp.services.s.loadBalancr").message,
            "unknown key \"loadBalancr\" (did you mean \"loadBalancer\"?)");
  EXPECT_EQ(one(l.errors, "tcp.services.s.LoadBalancerz").message,
            "unknown key \"LoadBalancerz\" (did you mean \"loadBalancer\"?)");
  // Not near misses: no hint.
  EXPECT_EQ(one(l.errors, "tcp.services.s.zzz").message, "unknown key \"zzz\"");
  EXPECT_EQ(one(l.errors, "tcp.services.s.lb").message, "unknown key \"lb\"");
}

TEST(ConfigKeys, MergeKeysExplicitKeysWin) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(x-servers: &servers
  servers: [{address: "a:1"}]
  serversTransport: slow
x-fast: &fast
  serversTransport: fast
x-more: &more
  serversTransport: other
  terminationDelay: 1s
tcp:
  services:
    one:
      loadBalancer:
        <<: *servers
        serversTransport: fast
    two:
      loadBalancer:
        <<: [*fast, *more, *servers]
  serversTransports:
    slow: {dialTimeout: 9s}
    fast: {dialTimeout: 1s}
    other: {}
)y"));
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  const Service& one_svc = l.dyn.services.at("one");
  ASSERT_EQ(one_svc.servers.size(), 1u);
  EXPECT_EQ(one_svc.servers[0].address, "a:1");
  EXPECT_EQ(one_svc.servers_transport, "fast");
  // The first merged map wins over later ones.
  const Service& two = l.dyn.services.at("two");
  EXPECT_EQ(two.servers_transport, "fast");
  ASSERT_EQ(two.servers.size(), 1u);
  EXPECT_EQ(two.servers[0].address, "a:1");
  // terminationDelay came from *more: the deprecation warning names the anchor's line.
  EXPECT_EQ(one(l.warnings, "tcp.services.two.loadBalancer.terminationDelay").loc.line, 11);
}

TEST(ConfigKeys, MergeKeyErrorsPointIntoTheAnchor) {
  TempDir dir;
  std::string s = dir.write("s.yml", std::string(test::kEntry) + R"y(x-lb: &lb
  servers:
    - adress: "a:1"
  serversTransprt: t
tcp:
  services:
    s:
      loadBalancer:
        <<: *lb
    t:
      loadBalancer:
        <<: oops
)y");
  Loaded l = load(s);
  Error typo = one(l.errors, "tcp.services.s.loadBalancer.servers[0].adress");
  EXPECT_EQ(typo.loc.line, 6);
  EXPECT_EQ(typo.message, "unknown key \"adress\" (did you mean \"address\"?)");
  Error typo2 = one(l.errors, "tcp.services.s.loadBalancer.serversTransprt");
  EXPECT_EQ(typo2.loc.line, 7);
  EXPECT_EQ(typo2.message, "unknown key \"serversTransprt\" (did you mean \"serversTransport\"?)");
  EXPECT_EQ(one(l.errors, "tcp.services.t.loadBalancer.<<").to_string(),
            s + ":15: tcp.services.t.loadBalancer.<<: a merge key takes a map (<<: *anchor) or a list of maps "
                "(<<: [*a, *b]), found \"oops\"");
}

TEST(ConfigKeys, AnAnchorThatMergesItselfIsAnError) {
  TempDir dir;
  std::string s = dir.write("s.yml", std::string(test::kEntry) + R"y(tcp:
  services:
    s:
      loadBalancer: &self
        servers: [{address: "a:1"}]
        <<: [*self, *self]
)y");
  Loaded l = load(s);
  Error e = one(l.errors, "tcp.services.s.loadBalancer");
  EXPECT_EQ(e.loc.line, 7);
  EXPECT_EQ(e.message, "merge keys bring in more than 255 maps here (an anchor that merges itself?)");
  EXPECT_EQ(l.errors.size(), 1u) << dump(l.errors);
}

TEST(ConfigKeys, MergeKeysForUserNamedEntries) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(x-routers: &common
  shared: {rule: "HostSNI(`a`)", service: s}
  mine: {rule: "HostSNI(`old`)", service: s}
tcp:
  routers:
    <<: *common
    mine: {rule: "HostSNI(`new`)", service: s}
  services:
    s:
      loadBalancer: {servers: [{address: "a:1"}]}
)y"));
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.dyn.routers.size(), 2u);
  EXPECT_EQ(l.dyn.routers.at("mine").rule, "HostSNI(`new`)");
  EXPECT_EQ(l.dyn.routers.at("shared").loc.line, 5);
}

TEST(ConfigKeys, ExtensionKeysAtTheTopAreIgnored) {
  TempDir dir;
  std::string dyn = dir.write("dyn.yml", R"y(x-anchors:
  lb: &lb {servers: [{address: "a:1"}]}
X-Other: 1
tcp:
  services:
    s: {loadBalancer: *lb}
  x-nested: 1
)y");
  std::string s = dir.write("s.yml", std::string(test::kEntry) + "x-static: {a: 1}\nproviders:\n  file:\n    filename: dyn.yml\n");
  Loaded l = load(s);
  const std::string why =
      "ignored: a top-level key starting with \"x-\" is taken to hold YAML anchors for the rest of the file";
  EXPECT_EQ(one(l.warnings, "x-static").to_string(), s + ":4: x-static: " + why);
  EXPECT_EQ(one(l.warnings, "x-anchors").to_string(), dyn + ":1: x-anchors: " + why);
  EXPECT_EQ(one(l.warnings, "X-Other").loc.line, 3);
  // Only at the top of a file.
  ASSERT_EQ(l.errors.size(), 1u) << dump(l.errors);
  EXPECT_EQ(l.errors[0].to_string(), dyn + ":7: tcp.x-nested: unknown key \"x-nested\"");
  EXPECT_EQ(l.dyn.services.at("s").servers.at(0).address, "a:1");
}

TEST(ConfigKeys, DirectoryKeepsTheFirstDefinition) {
  TempDir dir;
  std::string a = dir.write("d/a.yml", R"y(tcp:
  routers:
    r: {rule: "HostSNI(`a`)", service: s}
  services:
    s:
      loadBalancer: {servers: [{address: "a:1"}]}
tls:
  options:
    o: {minVersion: VersionTLS13}
)y");
  std::string b = dir.write("d/sub/b.yml", R"y(tcp:
  routers:
    other: {rule: "HostSNI(`o`)", service: s}
    r: {rule: "HostSNI(`b`)", service: s}
  serversTransports:
    t: {}
tls:
  options:
    o: {minVersion: VersionTLS12}
)y");
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + "providers:\n  file:\n    directory: d\n"));
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.dyn.routers.at("r").rule, "HostSNI(`a`)");
  EXPECT_EQ(l.dyn.routers.at("other").rule, "HostSNI(`o`)");
  EXPECT_EQ(l.dyn.tls_options.at("o").min_version, "VersionTLS13");
  EXPECT_EQ(l.dyn.servers_transports.count("t"), 1u);
  EXPECT_EQ(one(l.warnings, "tcp.routers.r").to_string(),
            b + ":4: tcp.routers.r: ignored: \"r\" is defined in two files; the first, at " + a +
                ":3, is kept (files are read in name order, as Traefik does)");
  Error o = one(l.warnings, "tls.options.o");
  EXPECT_EQ(o.loc.line, 9);
  EXPECT_NE(o.message.find(a + ":9"), std::string::npos) << o.message;
}

TEST(ConfigKeys, DuplicatesStayErrorsWithinAFileAndAgainstTheStaticFile) {
  TempDir dir;
  dir.write("d/a.yml", R"y(tcp:
  routers:
    r: {rule: "HostSNI(`a`)", service: s}
    r: {rule: "HostSNI(`b`)", service: s}
)y");
  std::string s = dir.write("s.yml", std::string(test::kEntry) + R"y(providers:
  file:
    directory: d
tcp:
  routers:
    r: {rule: "HostSNI(`s`)", service: s}
  services:
    s:
      loadBalancer: {servers: [{address: "a:1"}]}
)y");
  Loaded l = load(s);
  EXPECT_TRUE(has(l.errors, "tcp.routers.r", "duplicate key \"r\" (first at line 3)")) << dump(l.errors);
  EXPECT_TRUE(has(l.errors, "tcp.routers.r", "\"r\" is defined twice: here and at " + s + ":9")) << dump(l.errors);
  EXPECT_EQ(l.errors.size(), 2u) << dump(l.errors);
}

TEST(ConfigKeys, NewerTraefikKeysAreIgnoredWithAWarning) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(log:
  otlp: {grpc: {endpoint: "localhost:4317"}}
accessLog:
  format: common
  otlp: {http: {}}
metrics:
  otlp: {}
tracing:
  otlp: {}
  serviceName: x
providers:
  kubernetesIngressNGINX: {}
experimental:
  fastProxy: {}
hub:
  token: x
)y"));
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(one(l.warnings, "log.otlp").message,
            "ignored: snigate logs text to stderr; OpenTelemetry export is not supported");
  EXPECT_EQ(one(l.warnings, "accessLog.otlp").message,
            "ignored: OpenTelemetry export is not supported; the access log is written to filePath");
  EXPECT_EQ(one(l.warnings, "accessLog.format").message,
            "ignored: \"common\" is Traefik's format for HTTP requests; snigate writes its TCP access log as JSON "
            "lines");
  EXPECT_TRUE(l.stat.access_log);
  EXPECT_EQ(one(l.warnings, "metrics.otlp").message, "ignored: only metrics.prometheus is supported");
  EXPECT_EQ(one(l.warnings, "tracing").loc.line, 11);
  EXPECT_TRUE(has(l.warnings, "providers.kubernetesIngressNGINX", "ignored: only the file and etcd providers are supported"));
  EXPECT_TRUE(has(l.warnings, "experimental", "ignored:"));
  EXPECT_EQ(one(l.warnings, "hub").message, "ignored: Traefik Hub is not part of snigate");
}

TEST(ConfigKeys, HealthCheckTraefikKeys) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) + R"y(tcp:
  services:
    s:
      loadBalancer:
        servers: [{address: "a:1"}, {address: "b:1"}]
        healthCheck:
          send: PING
          expect: PONG
          interval: 10s
)y"));
  EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);
  const Service& s = l.dyn.services.at("s");
  ASSERT_TRUE(s.health_check.has_value());
  EXPECT_EQ(s.health_check->send, "PING");
  EXPECT_EQ(s.health_check->expect, "PONG");
  EXPECT_EQ(s.health_check->interval.count(), 10'000);
  EXPECT_FALSE(s.health_check->unhealthy_interval.has_value());  // unset: the interval
  EXPECT_EQ(s.health_check->timeout.count(), 5'000);
  EXPECT_EQ(s.servers.size(), 2u);
}

}  // namespace
}  // namespace snigate::config
