// Traefik's KV layout: keys to YAML and back, the etcd provider's keys, and
// names across providers (db@etcd, db@file).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>  // a second reader, to check what kv_to_yaml writes

#include "config/kv_yaml.hpp"
#include "config/yaml_doc.hpp"
#include "config_test_util.hpp"

using namespace snigate::config;
using namespace snigate::config::test;

namespace {

const char* kStatic = R"y(entryPoints:
  tls: {address: "127.0.0.1:8443"}
providers:
  etcd: {endpoints: ["127.0.0.1:2379"]}
)y";

Loaded with_etcd(const TempDir& dir, const KvPairs& pairs, const std::string& extra = "") {
  Loaded l = load(dir.write("s.yml", std::string(kStatic) + extra));  // its files alone may refer to etcd
  EXPECT_TRUE(l.stat.etcd);
  Loaded next;
  next.stat = l.stat;
  load_dynamic(next.stat, next, &pairs);
  return next;
}

const KvPairs kRouter = {
    {"traefik/tcp/routers/db/rule", "HostSNI(`db.example.com`)"},
    {"traefik/tcp/routers/db/entrypoints/0", "tls"},
    {"traefik/tcp/routers/db/service", "db"},
    {"traefik/tcp/routers/db/tls", "true"},
    {"traefik/tcp/routers/db/tls/passthrough", "true"},
    {"traefik/tcp/services/db/loadbalancer/servers/0/address", "127.0.0.1:5432"},
    {"traefik/tcp/services/db/loadbalancer/servers/1/address", "127.0.0.1:5433"},
};

}  // namespace

TEST(ConfigKv, KeysBecomeOneYamlLinePerKey) {
  const KvDocument doc = kv_to_yaml(kRouter, "traefik");
  YAML::Node n = YAML::Load(doc.yaml);
  EXPECT_EQ(n["tcp"]["routers"]["db"]["rule"].as<std::string>(), "HostSNI(`db.example.com`)");
  EXPECT_TRUE(n["tcp"]["routers"]["db"]["entrypoints"].IsSequence());
  EXPECT_EQ(n["tcp"]["services"]["db"]["loadbalancer"]["servers"][1]["address"].as<std::string>(), "127.0.0.1:5433");
  ASSERT_EQ(doc.line_keys.size(), static_cast<std::size_t>(std::count(doc.yaml.begin(), doc.yaml.end(), '\n')));
  const auto line = n["tcp"]["routers"]["db"]["rule"].Mark().line;
  EXPECT_EQ(doc.line_keys[static_cast<std::size_t>(line)], "traefik/tcp/routers/db/rule");
}

TEST(ConfigKv, ListsInNumericOrderAndValuesQuoted) {
  KvPairs p;
  for (int i = 0; i < 12; ++i) p["r/x/" + std::to_string(i)] = std::to_string(i);
  p["r/y"] = "a \"quoted\": value\n# not a comment\\ \x01";
  p["r/z"] = "";
  p["other/ignored"] = "1";
  const YAML::Node n = YAML::Load(kv_to_yaml(p, "r").yaml);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(n["x"][i].as<int>(), i);
  EXPECT_EQ(n["y"].as<std::string>(), "a \"quoted\": value\n# not a comment\\ \x01");
  EXPECT_TRUE(n["z"].IsNull());
  EXPECT_FALSE(n["other"]);
}

TEST(ConfigKv, RouterTlsTrueIsWrittenAsAnEmptySection) {
  KvPairs p = kRouter;
  p["traefik/tcp/routers/plain/tls"] = "true";
  p["traefik/tcp/routers/off/tls"] = "false";
  const YAML::Node n = YAML::Load(kv_to_yaml(p, "traefik").yaml);
  EXPECT_TRUE(n["tcp"]["routers"]["plain"]["tls"].IsMap());
  EXPECT_EQ(n["tcp"]["routers"]["off"]["tls"].as<std::string>(), "false");
  EXPECT_TRUE(n["tcp"]["routers"]["db"]["tls"]["passthrough"]);  // with children: the children
  EXPECT_FALSE(n["tcp"]["routers"]["db"]["service"].IsMap());
}

TEST(ConfigKv, BytesThatAreNotUtf8StillMakeADocument) {
  // etcd keys and values are any bytes; the YAML reader takes UTF-8 only.
  KvPairs p = kRouter;
  p["traefik/tcp/routers/db/rul\xfa"] = "x";
  p["traefik/tcp/routers/db/service"] = "d\xc3(b\xf5\x80\x80\x80\xc2\x81";
  const KvDocument doc = kv_to_yaml(p, "traefik");
  const auto parsed = yaml::parse(doc.yaml);
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const yaml::Document>>(parsed))
      << std::get<yaml::SyntaxError>(parsed).message;
  EXPECT_NE(doc.yaml.find("rul\\xfa"), std::string::npos) << doc.yaml;
}

TEST(ConfigKv, LineBreaksOfYaml11InKeysAreEscaped) {
  // NEL, LS and PS are line breaks to a YAML 1.1 reader: written as they are
  // inside a quoted key, they fold it and the next key reads as a value.
  KvPairs p = kRouter;
  p["traefik/tcp/routers/a\xc2\x85" "b/rule"] = "HostSNI(`a`)";
  p["traefik/tcp/routers/c\xe2\x80\xa8" "d\xe2\x80\xa9" "e/rule"] = "HostSNI(`c`)";
  const KvDocument doc = kv_to_yaml(p, "traefik");
  const auto parsed = yaml::parse(doc.yaml);
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const yaml::Document>>(parsed))
      << std::get<yaml::SyntaxError>(parsed).message << "\n" << doc.yaml;
  EXPECT_NE(doc.yaml.find("a\\u0085b"), std::string::npos) << doc.yaml;
  EXPECT_NE(doc.yaml.find("c\\u2028d\\u2029e"), std::string::npos) << doc.yaml;
  std::size_t lines = 0;
  for (const char c : doc.yaml) lines += c == '\n';
  EXPECT_EQ(lines, doc.line_keys.size());
}

TEST(ConfigKv, EmptyStoreIsAnEmptyMap) {
  EXPECT_TRUE(YAML::Load(kv_to_yaml({}, "traefik").yaml).IsMap());
}

TEST(ConfigKv, YamlToKvAndBack) {
  const auto parsed = yaml::parse(R"y(
x-common: &common {service: db, entryPoints: [tls]}
tcp:
  routers:
    db:
      <<: *common
      rule: "HostSNI(`db.example.com`)"
      tls: {}
    MixedCase: {rule: "HostSNI(`m.example.com`)", service: db, tls: {}}
  services:
    db: {loadBalancer: {servers: [{address: "127.0.0.1:5432"}, {address: "127.0.0.1:5433", tls: true}]}}
tls:
  options:
    modern: {minVersion: VersionTLS13, sniStrict: true}
entryPoints: {ignored: {address: ":1"}}
)y");
  const KvPairs kv = yaml_to_kv(std::get<std::shared_ptr<const yaml::Document>>(parsed)->root(), "traefik");
  EXPECT_EQ(kv.at("traefik/tcp/routers/db/tls"), "true");
  EXPECT_EQ(kv.at("traefik/tcp/routers/db/service"), "db");
  EXPECT_EQ(kv.at("traefik/tcp/routers/MixedCase/service"), "db");  // a name keeps its case
  EXPECT_EQ(kv.at("traefik/tcp/routers/db/entrypoints/0"), "tls");
  EXPECT_EQ(kv.at("traefik/tcp/services/db/loadbalancer/servers/1/tls"), "true");
  EXPECT_EQ(kv.at("traefik/tls/options/modern/minversion"), "VersionTLS13");
  EXPECT_EQ(kv.count("traefik/entryPoints/ignored/address"), 0u);
  EXPECT_EQ(kv.count("traefik/entrypoints/ignored/address"), 0u);
  EXPECT_EQ(kv.count("traefik/x-common/service"), 0u);
  // Read back as etcd's keys, it is the same configuration.
  TempDir dir;
  Loaded l = with_etcd(dir, kv);
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  const Router& r = l.dyn.routers.at("db@etcd");
  EXPECT_EQ(r.service, "db@etcd");
  ASSERT_TRUE(r.tls);
  EXPECT_EQ(l.dyn.services.at("db@etcd").servers.size(), 2u);
  EXPECT_TRUE(l.dyn.services.at("db@etcd").servers[1].tls);
  EXPECT_TRUE(l.dyn.tls_options.at("modern@etcd").sni_strict);
}

TEST(ConfigKv, EtcdNamesCarryTheirProvider) {
  TempDir dir;
  Loaded l = with_etcd(dir, kRouter);
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  ASSERT_EQ(l.dyn.routers.count("db@etcd"), 1u);
  const Router& r = l.dyn.routers.at("db@etcd");
  EXPECT_EQ(r.name, "db@etcd");
  EXPECT_EQ(r.service, "db@etcd");
  EXPECT_TRUE(r.tls && r.tls->passthrough);
  EXPECT_EQ(r.entry_points, (std::vector<std::string>{"tls"}));
  EXPECT_TRUE(l.warnings.empty()) << dump(l.warnings);  // lower-case keys are not reported
}

TEST(ConfigKv, ARouterMayNameAServiceOfTheOtherProvider) {
  TempDir dir;
  dir.write("d.yml", R"y(tcp:
  routers:
    web: {rule: "HostSNI(`web.example.com`)", service: db@etcd, tls: {passthrough: true}}
  services:
    files: {loadBalancer: {servers: [{address: "127.0.0.1:9"}]}}
)y");
  KvPairs kv = kRouter;
  kv["traefik/tcp/routers/db/service"] = "files@file";
  Loaded l = with_etcd(dir, kv, "  file: {filename: d.yml}\n");
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  EXPECT_EQ(l.dyn.routers.at("web").service, "db@etcd");
  EXPECT_EQ(l.dyn.routers.at("db@etcd").service, "files");
}

TEST(ConfigKv, ErrorsNameTheEtcdKey) {
  TempDir dir;
  KvPairs kv = kRouter;
  kv["traefik/tcp/routers/db/priorty"] = "3";
  kv["traefik/tcp/routers/db/middlewares/0"] = "nope";
  Loaded l = with_etcd(dir, kv);
  ASSERT_FALSE(l.errors.empty());
  const std::string all = dump(l.errors);
  EXPECT_NE(all.find("etcd key traefik/tcp/routers/db/priorty: tcp.routers.db.priorty: unknown key \"priorty\" "
                     "(did you mean \"priority\"?)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("etcd key traefik/tcp/routers/db/middlewares/0: tcp.routers.db@etcd.middlewares[0]: unknown "
                     "middleware \"nope@etcd\""),
            std::string::npos)
      << all;
}

TEST(ConfigKv, TwoSpellingsOfOneKeyAreADuplicate) {
  TempDir dir;
  KvPairs kv = kRouter;
  kv["traefik/tcp/routers/db/Rule"] = "HostSNI(`other.example.com`)";
  Loaded l = with_etcd(dir, kv);
  EXPECT_TRUE(has(l.errors, "tcp.routers.db.rule", "at etcd key traefik/tcp/routers/db/Rule")) << dump(l.errors);
}

TEST(ConfigKv, UnknownProviderSuffixIsAnError) {
  TempDir dir;
  KvPairs kv = kRouter;
  kv["traefik/tcp/routers/db/service"] = "db@docker";
  Loaded l = with_etcd(dir, kv);
  EXPECT_TRUE(has(l.errors, "tcp.routers.db@etcd.service", "snigate's providers are file, etcd and internal"))
      << dump(l.errors);
}

TEST(ConfigKv, NamesWithAtAreRefused) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(entryPoints: {tls: {address: "127.0.0.1:8443"}}
tcp:
  routers:
    a@b: {rule: "HostSNI(`*`)", service: s}
  services:
    s: {loadBalancer: {servers: [{address: "127.0.0.1:9"}]}}
)y"));
  EXPECT_TRUE(has(l.errors, "tcp.routers.a@b", "must not contain \"@\"")) << dump(l.errors);
}

TEST(ConfigKv, WithoutEtcdConfiguredItsKeysAreNotRead) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", "entryPoints: {tls: {address: \"127.0.0.1:8443\"}}\n"));
  Loaded next;
  next.stat = l.stat;
  load_dynamic(next.stat, next, &kRouter);
  EXPECT_TRUE(next.dyn.routers.empty());
}

TEST(ConfigKv, StaticKeys) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(providers:
  providersThrottleDuration: 250ms
  etcd:
    endpoints: ["10.0.0.1:2379", "https://etcd.example.com:2379"]
    rootKey: fleet/
    username: u
    password: p
    tls: {insecureSkipVerify: true}
)y"));
  ASSERT_TRUE(l.errors.empty()) << dump(l.errors);
  ASSERT_TRUE(l.stat.etcd);
  EXPECT_EQ(l.stat.etcd->endpoints.size(), 2u);
  EXPECT_EQ(l.stat.etcd->root_key, "fleet");
  EXPECT_TRUE(l.stat.etcd->tls && l.stat.etcd->tls->insecure_skip_verify);
  EXPECT_EQ(l.stat.providers_throttle, std::chrono::milliseconds(250));
}

TEST(ConfigKv, StaticKeyErrors) {
  TempDir dir;
  Loaded l = load(dir.write("s.yml", R"y(providers:
  etcd:
    endpoints: ["nohost", "127.0.0.1:99999"]
    username: u
    tls: {cert: /nonexistent.pem}
)y"));
  EXPECT_TRUE(has(l.errors, "providers.etcd.endpoints", "\"nohost\"")) << dump(l.errors);
  EXPECT_TRUE(has(l.errors, "providers.etcd.endpoints", "\"127.0.0.1:99999\"")) << dump(l.errors);
  EXPECT_TRUE(has(l.errors, "providers.etcd", "username and password go together")) << dump(l.errors);
  EXPECT_FALSE(one(l.errors, "providers.etcd.tls.cert").message.empty());
}
