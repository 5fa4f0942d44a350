// ruleSyntax (per router) and core.defaultRuleSyntax (static): v2 rules are
// rewritten to v3 at load with a deprecation warning; other values are errors.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config_test_util.hpp"

namespace snigate::config {
namespace {

using test::has;
using test::one;
using test::TempDir;

constexpr const char* kService = "    svc:\n      loadBalancer:\n        servers:\n          - address: \"127.0.0.1:9000\"\n";

Loaded load_with(const TempDir& dir, const std::string& core, const std::string& routers) {
  return load(dir.write("static.yml", std::string(test::kEntry) + core + "tcp:\n  routers:\n" + routers +
                                          "  services:\n" + kService));
}

TEST(ConfigRuleSyntax, RouterInV2IsRewrittenWithAWarning) {
  TempDir dir;
  Loaded l = load_with(dir, "",
                       "    web:\n      rule: \"HostSNI(`a.test`, `b.test`)\"\n      ruleSyntax: v2\n      service: svc\n"
                       "    other:\n      rule: \"HostSNI(`c.test`, `d.test`)\"\n      service: svc\n");
  ASSERT_TRUE(l.errors.empty()) << test::dump(l.errors);
  const Router& web = l.dyn.routers.at("web");
  EXPECT_EQ(web.rule, "HostSNI(`a.test`) || HostSNI(`b.test`)");
  EXPECT_EQ(web.rule_as_written, "HostSNI(`a.test`, `b.test`)");
  const Error w = one(l.warnings, "tcp.routers.web");
  EXPECT_EQ(w.loc.line, 8) << w.to_string();  // the ruleSyntax line
  EXPECT_NE(w.message.find("router web: ruleSyntax: v2 is deprecated"), std::string::npos) << w.message;
  EXPECT_NE(w.message.find("HostSNI(`a.test`) || HostSNI(`b.test`)"), std::string::npos) << w.message;
  // Without ruleSyntax a router is v3 (several arguments: snigate's "any of").
  EXPECT_EQ(l.dyn.routers.at("other").rule, "HostSNI(`c.test`, `d.test`)");
  EXPECT_TRUE(l.dyn.routers.at("other").rule_as_written.empty());
  EXPECT_FALSE(has(l.warnings, "tcp.routers.other", ""));
}

TEST(ConfigRuleSyntax, DefaultRuleSyntaxV2AndARouterThatSaysV3) {
  TempDir dir;
  Loaded l = load_with(dir, "core:\n  defaultRuleSyntax: v2\n",
                       "    old:\n      rule: HostSNIRegexp(`{sub}.test`)\n      service: svc\n"
                       "    new:\n      rule: HostSNIRegexp(`^[a-z]+\\.test$`)\n      ruleSyntax: v3\n      service: svc\n");
  ASSERT_TRUE(l.errors.empty()) << test::dump(l.errors);
  EXPECT_EQ(l.stat.default_rule_syntax, "v2");
  EXPECT_EQ(l.dyn.routers.at("old").rule, "HostSNIRegexp(`^(?:[^.]+)\\.test$`)");
  EXPECT_EQ(l.dyn.routers.at("new").rule, "HostSNIRegexp(`^[a-z]+\\.test$`)");
  const Error w = one(l.warnings, "tcp.routers.old");
  EXPECT_NE(w.message.find("router old: core.defaultRuleSyntax: v2 (at "), std::string::npos) << w.message;
  EXPECT_FALSE(has(l.warnings, "tcp.routers.new", ""));
}

TEST(ConfigRuleSyntax, DefaultPriorityIsTheLengthOfTheRuleAsWritten) {
  TempDir dir;
  Loaded l = load_with(dir, "",
                       "    web:\n      rule: HostSNI(`a.test`,`b.test`)\n      ruleSyntax: v2\n      service: svc\n");
  ASSERT_TRUE(l.errors.empty()) << test::dump(l.errors);
  EXPECT_EQ(l.dyn.routers.at("web").rule_as_written.size(), 26u);
}

TEST(ConfigRuleSyntax, InvalidValuesAreErrors) {
  TempDir dir;
  Loaded l = load_with(dir, "core:\n  defaultRuleSyntax: v1\n",
                       "    web:\n      rule: HostSNI(`a.test`)\n      ruleSyntax: V2\n      service: svc\n");
  const Error d = one(l.errors, "core.defaultRuleSyntax");
  EXPECT_EQ(d.loc.line, 5);
  EXPECT_NE(d.message.find("must be v2 or v3, not \"v1\""), std::string::npos) << d.message;
  const Error r = one(l.errors, "tcp.routers.web.ruleSyntax");
  EXPECT_EQ(r.loc.line, 10);
  EXPECT_NE(r.message.find("must be v2 or v3"), std::string::npos) << r.message;
}

TEST(ConfigRuleSyntax, AV2RuleThatCannotBeReadIsAnErrorAtTheRule) {
  TempDir dir;
  Loaded l = load_with(dir, "",
                       "    web:\n      rule: HostSNIRegexp(`{sub.test`)\n      ruleSyntax: v2\n      service: svc\n");
  const Error e = one(l.errors, "tcp.routers.web.rule");
  EXPECT_EQ(e.loc.line, 7);
  EXPECT_NE(e.message.find("unbalanced braces"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("Traefik v2 syntax"), std::string::npos) << e.message;
}

TEST(ConfigRuleSyntax, CoreIsStaticOnly) {
  TempDir dir;
  const std::string dyn = dir.write("dyn.yml", "core:\n  defaultRuleSyntax: v2\n");
  Loaded l = load(dir.write("static.yml", std::string(test::kEntry) + "providers:\n  file:\n    filename: " + dyn + "\n"));
  EXPECT_TRUE(has(l.errors, "core", "static configuration")) << test::dump(l.errors);
}

}  // namespace
}  // namespace snigate::config
