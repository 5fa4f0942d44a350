#pragma once
// Which admin paths an entry point serves, and the one function that answers
// a request there.
#include <string>

#include "admin/http.hpp"
#include "admin/state.hpp"

namespace snigate::admin {

struct Served {
  bool api = false;        // /api/... (api.insecure, on the entry point named traefik)
  bool dashboard = false;  // /dashboard/ (and api.dashboard)
  bool metrics = false;    // /metrics (metrics.prometheus.entryPoint)
  bool ping = false;       // /ping (ping.entryPoint)
};

Served served_on(const config::Static& stat, const std::string& entry_point);

// path: as requested (basePath included); dispatch strips basePath for the
// API and the dashboard, as Traefik does (/metrics and /ping have none).
Response dispatch(const Request& req, const State& state, const Served& what);

}  // namespace snigate::admin
