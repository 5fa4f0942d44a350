// /api/connections and /api/refusals: what is happening now, bounded.
#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "admin/api_items.hpp"
#include "observe/refusals.hpp"

namespace snigate::admin {
namespace {

// The limit parameter: fallback when absent, at most max; nullopt when it is
// not a positive whole number.
std::optional<std::size_t> limit_of(const Request& req, std::size_t fallback, std::size_t max) {
  const std::string_view raw = req.param("limit");
  if (raw.empty()) return fallback;
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), n);
  if (ec == std::errc::result_out_of_range) return max;
  if (ec != std::errc{} || end != raw.data() + raw.size() || n == 0) return std::nullopt;
  return std::min(n, max);
}

Response bad_limit(const Request& req) {
  return error_response(400, fmt::format("invalid request: limit: \"{}\" is not a positive whole number", req.param("limit")));
}

json connection_json(const observe::OpenConnection& c, std::chrono::system_clock::time_point now) {
  const double age = std::chrono::duration<double>(now - c.start).count();
  return {{"entryPoint", c.entry_point}, {"client", c.client},     {"sni", c.sni},
          {"mode", c.mode},              {"router", c.router},     {"service", c.service},
          {"server", c.server},          {"bytesIn", c.bytes_in},  {"bytesOut", c.bytes_out},
          {"start", rfc3339(c.start)},   {"ageSeconds", age < 0 ? 0.0 : age}};
}

json refusal_json(const observe::RefusalRecord& r) {
  return {{"time", rfc3339(r.time)}, {"entryPoint", r.entry_point}, {"client", r.client}, {"sni", r.sni},
          {"alpn", r.alpn},          {"mode", r.mode},              {"router", r.router}, {"end", r.end},
          {"detail", r.detail}};
}

}  // namespace

Response connections_answer(const Request& req, const State& state) {
  const auto limit = limit_of(req, 100, 1000);
  if (!limit) return bad_limit(req);
  std::size_t total = 0;
  std::vector<observe::OpenConnection> open;
  if (state.connections) open = state.connections(*limit, total);
  json list = json::array();
  const auto now = std::chrono::system_clock::now();
  for (const observe::OpenConnection& c : open) list.push_back(connection_json(c, now));
  return json_response({{"total", total}, {"connections", list}});
}

Response refusals_answer(const Request& req) {
  const auto limit = limit_of(req, 50, observe::kRefusalsKept);
  if (!limit) return bad_limit(req);
  json list = json::array();
  for (const observe::RefusalRecord& r : observe::recent_refusals(*limit)) list.push_back(refusal_json(r));
  return json_response(list);
}

}  // namespace snigate::admin
