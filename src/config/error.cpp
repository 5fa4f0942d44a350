// Error::to_string: "file:line: path: message", leaving out the parts not known.
#include <fmt/core.h>

#include "config/config.hpp"

namespace snigate::config {

std::string Error::to_string() const {
  std::string out;
  if (!loc.file.empty()) {
    out = loc.line > 0 ? fmt::format("{}:{}: ", loc.file, loc.line) : fmt::format("{}: ", loc.file);
  }
  if (!path.empty()) out += fmt::format("{}: ", path);
  out += message;
  return out;
}

}  // namespace snigate::config
