#include "admin/time_text.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace snigate::admin {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(t);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", ms);
}

}  // namespace snigate::admin
