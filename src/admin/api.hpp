#pragma once
// The JSON API under /api: Traefik's shapes for entry points and TCP
// routers, services and middlewares (names carry their provider, "db@file"),
// and snigate's own /api/explain, /api/connections and /api/refusals.
// docs/observability.md ("API") shows each answer.
#include <optional>

#include "admin/http.hpp"
#include "admin/state.hpp"

namespace snigate::admin {

// The answer to a GET of an /api path; nullopt for a path that is not the
// API's (/api/stats is the server's own).
std::optional<Response> api_get(const Request& req, const State& state);

}  // namespace snigate::admin
