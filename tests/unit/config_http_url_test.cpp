// Responder URLs (parse_http_url) and the static ocsp section.
#include <gtest/gtest.h>

#include "config/http_url.hpp"
#include "config_test_util.hpp"

namespace snigate::config {
namespace {

HttpUrl good(std::string_view url) {
  std::string why;
  auto u = parse_http_url(url, why);
  EXPECT_TRUE(u.has_value()) << url << ": " << why;
  return u.value_or(HttpUrl{});
}

std::string bad(std::string_view url) {
  std::string why;
  EXPECT_FALSE(parse_http_url(url, why).has_value()) << url;
  return why;
}

TEST(ConfigHttpUrl, HostPortPath) {
  HttpUrl u = good("http://ocsp.example.net");
  EXPECT_EQ(u.host, "ocsp.example.net");
  EXPECT_EQ(u.port, "80");
  EXPECT_EQ(u.path, "/");
  u = good("http://127.0.0.1:8888/ocsp/r3?x=1#frag");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "8888");
  EXPECT_EQ(u.path, "/ocsp/r3?x=1");
  u = good("HTTP://[::1]:9/");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "9");
  u = good("http://r.example?q");
  EXPECT_EQ(u.path, "/?q");
}

TEST(ConfigHttpUrl, Refusals) {
  EXPECT_NE(bad("https://ocsp.example.net").find("http://"), std::string::npos);
  EXPECT_NE(bad("ldap://x").find("http://"), std::string::npos);
  EXPECT_NE(bad("ocsp.example.net").find("http://"), std::string::npos);
  EXPECT_NE(bad("http://").find("no host"), std::string::npos);
  EXPECT_NE(bad("http://:80/").find("no host"), std::string::npos);
  EXPECT_NE(bad("http://h:0").find("port"), std::string::npos);
  EXPECT_NE(bad("http://h:65536").find("port"), std::string::npos);
  EXPECT_NE(bad("http://h:8x").find("port"), std::string::npos);
  EXPECT_NE(bad("http://u:p@h/").find("user"), std::string::npos);
  EXPECT_NE(bad("http://[::1/").find("]"), std::string::npos);
  EXPECT_NE(bad("http://h/a b").find("spaces"), std::string::npos);
}

TEST(ConfigOcsp, AbsentPresentAndOverrides) {
  test::TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry)));
  EXPECT_FALSE(l.stat.ocsp);
  l = load(dir.write("s.yml", std::string(test::kEntry) + "ocsp: {}\n"));
  EXPECT_TRUE(l.errors.empty()) << test::dump(l.errors);
  EXPECT_TRUE(l.stat.ocsp);
  l = load(dir.write("s.yml", std::string(test::kEntry) +
                                  "ocsp:\n  responderOverrides:\n    http://r3.o.lencr.org: http://127.0.0.1:9000/\n"));
  EXPECT_TRUE(l.errors.empty()) << test::dump(l.errors);
  for (const Error& w : l.warnings) EXPECT_FALSE(w.path.starts_with("ocsp")) << w.to_string();
  ASSERT_EQ(l.stat.ocsp_responder_overrides.size(), 1u);
  EXPECT_EQ(l.stat.ocsp_responder_overrides.at("http://r3.o.lencr.org"), "http://127.0.0.1:9000/");
}

TEST(ConfigOcsp, BadValuesNameTheirKeyAndLine) {
  test::TempDir dir;
  Loaded l = load(dir.write("s.yml", std::string(test::kEntry) +
                                         "ocsp:\n"                          // line 4
                                         "  responderOverrides:\n"          // 5
                                         "    http://a: https://b\n"        // 6
                                         "    http://c: [x]\n"              // 7
                                         "  disableStapling: true\n"));     // 8
  Error e = test::one(l.errors, "ocsp.responderOverrides.http://a");
  EXPECT_EQ(e.loc.line, 6) << e.to_string();
  EXPECT_NE(e.message.find("only http://"), std::string::npos) << e.to_string();
  e = test::one(l.errors, "ocsp.responderOverrides.http://c");
  EXPECT_EQ(e.loc.line, 7) << e.to_string();
  e = test::one(l.errors, "ocsp.disableStapling");
  EXPECT_EQ(e.loc.line, 8) << e.to_string();
  l = load(dir.write("s.yml", std::string(test::kEntry) + "ocsp:\n  responderOverrides: [http://a]\n"));
  EXPECT_EQ(test::one(l.errors, "ocsp.responderOverrides").loc.line, 5);
}

}  // namespace
}  // namespace snigate::config
