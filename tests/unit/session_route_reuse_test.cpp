// A reload leaves unread the routers written exactly as in the snapshot that
// serves, among unchanged surroundings, and takes over their Routes: the
// result must be what reading everything again gives.
#include <gtest/gtest.h>

#include <fmt/core.h>

#include <random>
#include <string>
#include <vector>

#include "config_test_util.hpp"
#include "session/route_reuse.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {
namespace {

using config::test::TempDir;
using config::test::dump;

struct Load {
  std::shared_ptr<const Snapshot> snap;
  std::vector<config::Error> errors;
  std::vector<config::Error> warnings;
};

Load first_load(const std::string& path) {
  config::Loaded l = config::load(path);
  Load out;
  if (l.errors.empty()) out.snap = compile(l.stat, std::move(l.dyn), l.errors, &l.warnings);
  out.errors = l.errors;
  out.warnings = l.warnings;
  return out;
}

// As session/runtime.cpp's reload() does it.
Load reload(const Snapshot& serving) {
  const config::Reuse reuse = reuse_of(serving);
  config::Loaded l;
  l.stat = serving.stat;
  config::load_dynamic(l.stat, l, nullptr, &reuse);
  Load out;
  if (l.errors.empty()) out.snap = compile(l.stat, std::move(l.dyn), l.errors, &l.warnings, &serving);
  out.errors = l.errors;
  out.warnings = l.warnings;
  return out;
}

// Everything about the routes that matching, the API and explain read.
std::string describe(const Snapshot& s) {
  std::string out;
  auto route = [&out](const Route& r) {
    out += fmt::format("  {} prio={}/{} rule={} as_written={} tls={} pass={} mysql={}/{} pg={}/{} svc={} opts={} mw=",
                       r.name, r.priority, static_cast<int>(r.priority_from), r.rule.text, r.rule_as_written, r.tls,
                       r.passthrough, r.allow_plaintext, r.mysql_written, r.pg_allow_plaintext, r.postgres_written,
                       r.service ? r.service->name : "-", r.options ? r.options->name : "-");
    for (const auto* m : r.middlewares) out += m->name + ",";
    out += "\n";
  };
  for (const auto& [name, entry] : s.entries) {
    out += name + ":\n";
    for (const Route& r : entry.routes) route(r);
  }
  out += "unattached:\n";
  for (const Route& r : s.unattached) route(r);
  return out + fmt::format("routers={}\n", s.router_count);
}

// Every Route points at the snapshot's own services, middlewares and options.
void expect_own_objects(const Snapshot& s) {
  for (const auto& [name, entry] : s.entries)
    for (const Route& r : entry.routes) {
      ASSERT_NE(r.service, nullptr);
      EXPECT_EQ(r.service, s.services.at(r.service->name).get()) << r.name;
      for (const auto* m : r.middlewares) EXPECT_EQ(m, s.middlewares.at(m->name).get()) << r.name;
      if (r.options) {
        EXPECT_EQ(r.options, s.options.at(r.options->name)) << r.name;
      }
    }
}

constexpr const char* kHead = R"(entryPoints:
  web:
    address: "127.0.0.1:18443"
  db:
    address: "127.0.0.1:13306"
tcp:
  services:
    s0:
      loadBalancer:
        servers: [{address: "127.0.0.1:9000"}]
    s1:
      loadBalancer:
        servers: [{address: "127.0.0.1:9001"}]
  middlewares:
    local:
      ipAllowList: {sourceRange: ["127.0.0.1/32"]}
  routers:
)";

std::string router(const std::string& name, const std::string& host, const std::string& extra = "") {
  return fmt::format("    {}:\n      entryPoints: [web]\n      rule: \"HostSNI(`{}`)\"\n      service: s0\n"
                     "      tls: {{passthrough: true}}\n{}",
                     name, host, extra);
}

TEST(SessionRouteReuse, OnlyTheChangedRouterIsReadAgain) {
  TempDir dir;
  const std::string path = dir.write("g.yml", kHead + router("a", "a.test") + router("b", "b.test") + router("c", "c.test"));
  const Load first = first_load(path);
  ASSERT_NE(first.snap, nullptr) << dump(first.errors);
  EXPECT_EQ(first.snap->reused_routers, 0u);

  dir.write("g.yml", kHead + router("a", "a.test") + router("b", "b2.test") + router("c", "c.test"));
  const Load next = reload(*first.snap);
  ASSERT_NE(next.snap, nullptr) << dump(next.errors);
  EXPECT_EQ(next.snap->reused_routers, 2u);
  EXPECT_EQ(describe(*next.snap), describe(*first_load(path).snap));
  expect_own_objects(*next.snap);
}

TEST(SessionRouteReuse, LinesThatMoveDoNotMatter) {
  TempDir dir;
  const std::string path = dir.write("g.yml", kHead + router("a", "a.test") + router("b", "b.test"));
  const Load first = first_load(path);
  ASSERT_NE(first.snap, nullptr) << dump(first.errors);
  dir.write("g.yml", "# a comment\n\n" + std::string(kHead) + router("b", "b.test") + router("a", "a.test"));
  const Load next = reload(*first.snap);
  ASSERT_NE(next.snap, nullptr) << dump(next.errors);
  EXPECT_EQ(next.snap->reused_routers, 2u);
  EXPECT_EQ(describe(*next.snap), describe(*first.snap));
}

TEST(SessionRouteReuse, AChangeAroundTheRoutersReadsThemAllAgain) {
  TempDir dir;
  const std::string head = kHead;
  const std::string routers = router("a", "a.test") + router("b", "b.test", "      middlewares: [local]\n");
  const std::string path = dir.write("g.yml", head + routers);
  const Load first = first_load(path);
  ASSERT_NE(first.snap, nullptr) << dump(first.errors);

  std::string changed = head;
  changed.replace(changed.find("127.0.0.1/32"), 12, "10.0.0.0/8");
  dir.write("g.yml", changed + routers);
  const Load next = reload(*first.snap);
  ASSERT_NE(next.snap, nullptr) << dump(next.errors);
  EXPECT_EQ(next.snap->reused_routers, 0u);
  expect_own_objects(*next.snap);
}

TEST(SessionRouteReuse, AServiceRemovedUnderUnchangedRoutersIsStillAnError) {
  TempDir dir;
  std::string head = kHead;
  const std::string routers = router("a", "a.test") + router("b", "b.test");
  const Load first = first_load(dir.write("g.yml", head + routers));
  ASSERT_NE(first.snap, nullptr) << dump(first.errors);
  const std::string s0 = "    s0:\n      loadBalancer:\n        servers: [{address: \"127.0.0.1:9000\"}]\n";
  head.erase(head.find(s0), s0.size());
  dir.write("g.yml", head + routers);
  const Load next = reload(*first.snap);
  EXPECT_EQ(next.snap, nullptr);
  EXPECT_TRUE(config::test::has(next.errors, "tcp.routers.a.service", "unknown service \"s0\"")) << dump(next.errors);
  EXPECT_TRUE(config::test::has(next.errors, "tcp.routers.b.service", "unknown service \"s0\"")) << dump(next.errors);
}

TEST(SessionRouteReuse, ARouterThatWarnedIsReadAgainAndWarnsAgain) {
  TempDir dir;
  const std::string w =
      "    w:\n      rule: \"HostSNI(`w.test`)\"\n      service: s0\n      tls: {passthrough: true, options: default}\n";
  const std::string routers = router("a", "a.test") + router("b", "b.test");
  const Load first = first_load(dir.write("g.yml", kHead + routers + w));
  ASSERT_NE(first.snap, nullptr) << dump(first.errors);
  ASSERT_TRUE(config::test::has(first.warnings, "tcp.routers.w.tls.options", "unused")) << dump(first.warnings);

  dir.write("g.yml", kHead + router("a", "a2.test") + router("b", "b.test") + w);
  const Load next = reload(*first.snap);
  ASSERT_NE(next.snap, nullptr) << dump(next.errors);
  EXPECT_EQ(next.snap->reused_routers, 1u);  // b
  EXPECT_TRUE(config::test::has(next.warnings, "tcp.routers.w.tls.options", "unused")) << dump(next.warnings);
}

// etcd's routers are named "r@etcd" in the snapshot and "r" where they are read.
TEST(SessionRouteReuse, EtcdRoutersAreReusedByTheirServedNames) {
  TempDir dir;
  const Load file = first_load(dir.write("g.yml", std::string(kHead) + "    {}\n"));
  ASSERT_NE(file.snap, nullptr) << dump(file.errors);
  config::Static stat = file.snap->stat;
  stat.etcd.emplace();
  config::KvPairs kv = {
      {"traefik/tcp/services/e/loadbalancer/servers/0/address", "127.0.0.1:9100"},
  };
  for (const char* r : {"a", "b", "c"}) {
    kv[fmt::format("traefik/tcp/routers/{}/rule", r)] = fmt::format("HostSNI(`{}.etcd.test`)", r);
    kv[fmt::format("traefik/tcp/routers/{}/service", r)] = "e";
    kv[fmt::format("traefik/tcp/routers/{}/tls/passthrough", r)] = "true";
  }
  auto load_kv = [&](const Snapshot* serving) {
    const config::Reuse reuse = serving ? reuse_of(*serving) : config::Reuse();
    config::Loaded l;
    l.stat = stat;
    config::load_dynamic(l.stat, l, &kv, &reuse);
    EXPECT_TRUE(l.errors.empty()) << dump(l.errors);
    return compile(l.stat, std::move(l.dyn), l.errors, &l.warnings, serving);
  };
  const auto first = load_kv(nullptr);
  ASSERT_NE(first, nullptr);
  kv["traefik/tcp/routers/b/rule"] = "HostSNI(`b2.etcd.test`)";
  const auto next = load_kv(first.get());
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->reused_routers, 2u);
  EXPECT_EQ(describe(*next), describe(*load_kv(nullptr)));
  expect_own_objects(*next);
}

// Random configurations and random edits: after every reload the snapshot is
// the one a fresh load of the same file gives.
TEST(SessionRouteReuse, RandomEditsGiveWhatAFreshLoadGives) {
  std::mt19937 rng(20261206);
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  struct R {
    std::string host;
    int priority = 0;
    int service = 0;
    int mode = 0;  // passthrough, terminate, plain catch-all
    bool local = false;
    bool both = false;
    bool count = false;  // an inFlightConn before the allow list: a warning while its amount is above 0
  };
  std::vector<R> rs(40);
  for (R& r : rs)
    r = R{fmt::format("h{}.test", pick(1000)), pick(3) * 10, pick(2), pick(3), pick(4) == 0, pick(5) == 0, pick(6) == 0};
  int port = 9000;
  int amount = 5;
  bool s1 = true;
  auto text = [&] {
    std::string head = kHead;
    head.replace(head.find("127.0.0.1:9000"), 14, fmt::format("127.0.0.1:{}", port));
    head.replace(head.find("  middlewares:\n"), 15, fmt::format("  middlewares:\n    count:\n      inFlightConn: {{amount: {}}}\n", amount));
    const std::string s1_text = "    s1:\n      loadBalancer:\n        servers: [{address: \"127.0.0.1:9001\"}]\n";
    if (!s1) head.erase(head.find(s1_text), s1_text.size());
    std::string out = head;
    for (std::size_t i = 0; i < rs.size(); ++i) {
      const R& r = rs[i];
      if (r.host.empty()) continue;
      out += fmt::format("    r{}:\n      entryPoints: [{}]\n      rule: \"{}\"\n      service: s{}\n", i,
                         r.both ? "web, db" : "web", r.mode == 2 ? "HostSNI(`*`)" : "HostSNI(`" + r.host + "`)",
                         r.service);
      if (r.priority) out += fmt::format("      priority: {}\n", r.priority);
      if (r.mode == 0) out += "      tls: {passthrough: true}\n";
      if (r.mode == 1) out += "      tls: {}\n";
      if (r.local || r.count) out += fmt::format("      middlewares: [{}{}]\n", r.count ? "count, " : "", "local");
    }
    return out;
  };
  TempDir dir;
  const std::string path = dir.write("g.yml", text());
  Load serving = first_load(path);
  ASSERT_NE(serving.snap, nullptr) << dump(serving.errors);
  std::size_t reused = 0;
  int served = 0;
  for (int round = 0; round < 60; ++round) {
    const int edits = 1 + pick(3);
    for (int e = 0; e < edits; ++e) {
      R& r = rs[static_cast<std::size_t>(pick(static_cast<int>(rs.size())))];
      switch (pick(11)) {
        case 0: r.host = fmt::format("h{}.test", pick(1000)); break;
        case 1: r.priority = pick(3) * 10; break;
        case 2: r.service = 1 - r.service; break;
        case 3: r.mode = pick(3); break;
        case 4: r.local = !r.local; break;
        case 5: r.host = r.host.empty() ? "back.test" : ""; break;  // removed, or back
        case 6: r.both = !r.both; break;
        case 7: r.count = !r.count; break;
        // Around the routers: their warnings and errors change with these.
        case 8: amount = amount ? 0 : 5; break;
        case 9: s1 = !s1; break;
        default: ++port; break;
      }
    }
    dir.write("g.yml", text());
    const Load next = reload(*serving.snap);
    const Load fresh = first_load(path);
    ASSERT_EQ(next.snap == nullptr, fresh.snap == nullptr) << "round " << round << "\n"
                                                           << dump(next.errors) << "fresh:\n" << dump(fresh.errors);
    ASSERT_EQ(dump(next.errors), dump(fresh.errors)) << "round " << round;
    ASSERT_EQ(dump(next.warnings), dump(fresh.warnings)) << "round " << round;
    if (!next.snap) continue;  // e.g. a router of s1 while s1 is gone
    ASSERT_EQ(describe(*next.snap), describe(*fresh.snap)) << "round " << round;
    expect_own_objects(*next.snap);
    reused += next.snap->reused_routers;
    ++served;
    serving = next;
  }
  // The test would prove little if nothing was ever reused, or every reload failed.
  EXPECT_GT(reused, 500u);
  EXPECT_GT(served, 20);
}

}  // namespace
}  // namespace snigate::session
