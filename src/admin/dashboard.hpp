#pragma once
// The dashboard: one page and its script and style sheet, served from the
// files compiled into the binary. It reads the API with relative URLs
// (../api/...), so it works under any basePath.
#include <optional>

#include "admin/http.hpp"

namespace snigate::admin {

// The answer for /dashboard (a redirect to dashboard/) and /dashboard/...;
// nullopt for any other path.
std::optional<Response> dashboard_get(const Request& req);

}  // namespace snigate::admin
