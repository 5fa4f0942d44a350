#include "admin/stats.hpp"

#include <nlohmann/json.hpp>

#include "admin/time_text.hpp"
#include "observe/metrics.hpp"

namespace snigate::admin {

Response stats_json(const State& state) {
  const observe::MetricsTotals t = observe::collect_metrics();
  const observe::LiveByRouter live = state.live_by_router ? state.live_by_router() : observe::LiveByRouter{};
  nlohmann::json entry_points = nlohmann::json::object(), routers = nlohmann::json::object();
  for (const auto& [name, entry] : state.snapshot()->entries) {
    if (entry.ep.admin) continue;
    auto it = t.open.find(name);
    entry_points[name] = {{"open", it == t.open.end() ? 0 : it->second}};
  }
  auto router = [&](const std::string& name) -> nlohmann::json& {
    nlohmann::json& r = routers[name.find('@') == std::string::npos ? name + "@file" : name];
    if (r.is_null()) r = {{"open", 0}, {"connections", 0}, {"bytesIn", 0}, {"bytesOut", 0}};
    return r;
  };
  for (const auto& [k, c] : t.connections) {
    if (k.router.empty()) continue;  // refused before any router took it
    nlohmann::json& r = router(k.router);
    r["connections"] = r["connections"].get<std::uint64_t>() + c.count;
    r["bytesIn"] = r["bytesIn"].get<std::uint64_t>() + c.bytes_in;
    r["bytesOut"] = r["bytesOut"].get<std::uint64_t>() + c.bytes_out;
  }
  for (const auto& [name, l] : live) {
    nlohmann::json& r = router(name);
    r["open"] = l.open;
    r["bytesIn"] = r["bytesIn"].get<std::uint64_t>() + l.bytes_in;
    r["bytesOut"] = r["bytesOut"].get<std::uint64_t>() + l.bytes_out;
  }
  nlohmann::json out = {{"time", rfc3339(std::chrono::system_clock::now())}, {"entryPoints", entry_points},
                        {"routers", routers}};
  return Response{200, "application/json", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", {}};
}

}  // namespace snigate::admin
