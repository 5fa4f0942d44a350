#include "admin/dashboard.hpp"

#include <algorithm>

#include "admin/dashboard_assets.hpp"

namespace snigate::admin {
namespace {

constexpr std::string_view kPrefix = "/dashboard/";

std::string_view content_type(std::string_view name) {
  auto ends = [&](std::string_view ext) { return name.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

// A file name from the table, or nullptr. The lookup is exact, so a path
// with "..", "/" or anything else not in the table cannot name another file.
const EmbeddedFile* find_file(std::string_view name) {
  const auto files = dashboard_files();
  const auto it = std::find_if(files.begin(), files.end(), [&](const EmbeddedFile& f) { return f.name == name; });
  return it == files.end() ? nullptr : &*it;
}

// The assets are not versioned by name, so the browser asks again on each
// load (they are small) and never runs a script older than the binary's.
// The policy forbids scripts and styles from anywhere but these files: an
// SNI shown on the page is client-chosen text.
Response file_response(const EmbeddedFile& f) {
  Response res{200, std::string(content_type(f.name)), std::string(f.bytes), {}};
  res.headers = {
      {"Cache-Control", "no-cache"},
      {"X-Content-Type-Options", "nosniff"},
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"},
  };
  return res;
}

}  // namespace

std::optional<Response> dashboard_get(const Request& req) {
  if (req.path == "/dashboard") {
    // Relative, so it stays under a basePath: /base/dashboard -> /base/dashboard/.
    Response res{302, "text/plain; charset=utf-8", "see dashboard/\n", {{"Location", "dashboard/"}}};
    return res;
  }
  if (!req.path.starts_with(kPrefix)) return std::nullopt;
  std::string_view name = std::string_view(req.path).substr(kPrefix.size());
  if (name.empty()) name = "index.html";
  if (const EmbeddedFile* f = find_file(name)) return file_response(*f);
  return Response{404, "text/plain; charset=utf-8", "404 page not found\n", {}};
}

}  // namespace snigate::admin
