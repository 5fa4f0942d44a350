// admin/dashboard: the page and its files come from the binary, with their
// content types; nothing outside the embedded table can be named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "admin/dashboard.hpp"

namespace snigate::admin {
namespace {

const std::filesystem::path kAssets = std::filesystem::path(SNIGATE_TEST_DATA) / "../../../src/admin/assets";

Request get(std::string path) { return Request{"GET", std::move(path), {}}; }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string header(const Response& res, std::string_view name) {
  for (const auto& [k, v] : res.headers)
    if (k == name) return v;
  return {};
}

// Each file is served as it is in the source tree: the build embedded the
// current version, and with the type a browser needs to run it.
TEST(AdminDashboard, ServesEachAssetWithItsContentType) {
  const std::pair<const char*, const char*> files[] = {
      {"index.html", "text/html; charset=utf-8"},
      {"app.js", "text/javascript; charset=utf-8"},
      {"style.css", "text/css; charset=utf-8"},
      {"favicon.svg", "image/svg+xml"},
  };
  for (const auto& [name, type] : files) {
    const auto res = dashboard_get(get(std::string("/dashboard/") + name));
    ASSERT_TRUE(res) << name;
    EXPECT_EQ(res->status, 200) << name;
    EXPECT_EQ(res->content_type, type) << name;
    EXPECT_EQ(res->body, read_file(kAssets / name)) << name;
    EXPECT_EQ(header(*res, "Cache-Control"), "no-cache") << name;
    EXPECT_EQ(header(*res, "X-Content-Type-Options"), "nosniff") << name;
    EXPECT_NE(header(*res, "Content-Security-Policy").find("script-src 'self'"), std::string::npos) << name;
  }
}

// A file added to the folder is embedded without a change to CMakeLists.txt.
TEST(AdminDashboard, EveryFileOfTheAssetsFolderIsServed) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kAssets)) {
    const auto res = dashboard_get(get("/dashboard/" + entry.path().filename().string()));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 3);
}

TEST(AdminDashboard, TheFolderIsTheIndexPage) {
  const auto res = dashboard_get(get("/dashboard/"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(res->body, read_file(kAssets / "index.html"));
}

// Relative, so /base/dashboard goes to /base/dashboard/ under a basePath.
TEST(AdminDashboard, WithoutTheSlashRedirectsToTheFolder) {
  const auto res = dashboard_get(get("/dashboard"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(header(*res, "Location"), "dashboard/");
}

TEST(AdminDashboard, UnknownFileIs404) {
  for (const char* path : {"/dashboard/missing.js", "/dashboard/index.htm", "/dashboard/app.js/", "/dashboard/APP.JS"}) {
    const auto res = dashboard_get(get(path));
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_EQ(res->body.find("<html"), std::string::npos) << path;
  }
}

// Paths arrive percent-decoded: whatever they spell, only a name in the
// embedded table is served, never a file of the disk.
TEST(AdminDashboard, NoPathTraversal) {
  for (const char* path : {"/dashboard/../CMakeLists.txt", "/dashboard/../../etc/passwd", "/dashboard/./app.js",
                           "/dashboard//app.js", "/dashboard/assets/app.js", "/dashboard/..", "/dashboard/%2e%2e/x",
                           "/dashboard/../api/version", "/dashboard/\\..\\app.js"}) {
    const auto res = dashboard_get(get(path));
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
  const auto nul = dashboard_get(get(std::string("/dashboard/app.js\0", 18)));
  ASSERT_TRUE(nul);
  EXPECT_EQ(nul->status, 404);
}

TEST(AdminDashboard, OtherPathsAreNotItsOwn) {
  for (const char* path : {"/", "/api/overview", "/dashboards", "/dashboardx/", "/ping", "/metrics", "/Dashboard/"})
    EXPECT_FALSE(dashboard_get(get(path))) << path;
}

// No CDN and no absolute URL: the page loads its files and asks the API
// relative to itself, so it works offline and under any basePath.
TEST(AdminDashboard, PageUsesRelativeUrlsOnly) {
  for (const char* name : {"index.html", "app.js", "style.css"}) {
    const std::string body = dashboard_get(get(std::string("/dashboard/") + name))->body;
    for (const char* absolute : {"http://", "https://", "src=\"/", "href=\"/", "fetch('/", "url(/", "url(http"})
      EXPECT_EQ(body.find(absolute), std::string::npos) << name << " holds " << absolute;
  }
  EXPECT_NE(dashboard_get(get("/dashboard/app.js"))->body.find("'../api/"), std::string::npos);
}

}  // namespace
}  // namespace snigate::admin
