#include "admin/routes.hpp"

#include "admin/api.hpp"
#include "admin/api_items.hpp"
#include "admin/dashboard.hpp"
#include "admin/metrics_text.hpp"
#include "admin/stats.hpp"

namespace snigate::admin {
namespace {

Response plain(int status, std::string body) { return Response{status, "text/plain; charset=utf-8", std::move(body), {}}; }

Response redirect(std::string to) {
  Response r = plain(302, "");
  r.headers.emplace_back("Location", std::move(to));
  return r;
}

// The API and the dashboard, below basePath.
Response api_side(const Request& req, const State& state, const Served& what) {
  if (what.api && req.path == "/api/stats") return stats_json(state);
  if (what.dashboard && req.path == "/") return redirect("dashboard/");
  if (what.api)
    if (auto res = api_get(req, state)) return std::move(*res);
  if (what.dashboard)
    if (auto res = dashboard_get(req)) return std::move(*res);
  if (what.api && req.path.starts_with("/api/")) return error_response(404, "no such API path: " + req.path);
  return plain(404, "404 page not found\n");
}

}  // namespace

Served served_on(const config::Static& stat, const std::string& entry_point) {
  Served s;
  s.api = stat.api && stat.api->insecure && entry_point == "traefik";
  s.dashboard = s.api && stat.api->dashboard;
  s.metrics = stat.prometheus && stat.prometheus->entry_point == entry_point;
  s.ping = stat.ping && stat.ping->entry_point == entry_point;
  return s;
}

Response dispatch(const Request& req, const State& state, const Served& what) {
  if (what.ping && req.path == "/ping") {
    const bool draining = state.draining && state.draining();
    return draining ? plain(503, "Service Unavailable") : plain(200, "OK");
  }
  if (what.metrics && req.path == "/metrics")
    return Response{200, "text/plain; version=0.0.4; charset=utf-8", prometheus_text(state), {}};
  const std::string& base = state.stat.api ? state.stat.api->base_path : std::string("/");
  if ((what.api || what.dashboard) && req.path.compare(0, base.size(), base) == 0) {
    Request inner = req;
    inner.path = "/" + req.path.substr(base.size());
    return api_side(inner, state, what);
  }
  if ((what.api || what.dashboard) && req.path + "/" == base) return redirect(base);
  return plain(404, "404 page not found\n");
}

}  // namespace snigate::admin
