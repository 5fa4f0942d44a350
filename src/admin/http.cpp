#include "admin/http.hpp"

#include <nlohmann/json.hpp>

namespace snigate::admin {

Response json_error(int status, std::string_view message) {
  return Response{status, "application/json", nlohmann::json{{"message", message}}.dump() + "\n", {}};
}

}  // namespace snigate::admin
