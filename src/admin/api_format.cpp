// How the API writes JSON, errors and durations (times: admin/time_text.hpp).
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

std::string duration(config::Duration d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s" : std::to_string(d.count()) + "ms";
}

}  // namespace snigate::admin
