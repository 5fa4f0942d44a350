// How the API writes JSON, errors, times and durations.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "admin/api_items.hpp"

namespace snigate::admin {

Response json_response(const json& body) {
  return Response{200, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", {}};
}

Response error_response(int status, std::string_view message) {
  Response r = json_response(json{{"message", message}});
  r.status = status;
  return r;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(secs), millis);
}

std::string duration(config::Duration d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s" : std::to_string(d.count()) + "ms";
}

}  // namespace snigate::admin
