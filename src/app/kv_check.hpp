#pragma once
// Checks a dynamic configuration file as the file provider would read it,
// before `snigate kv put` writes any of it: loaded and compiled as `snigate
// check` does, with a stand-in static configuration.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <ostream>
#include <string>

namespace snigate::app {

// The file's YAML when it is a valid dynamic configuration; otherwise nullopt,
// with every error printed to err.
std::optional<YAML::Node> check_dynamic_file(const std::string& path, std::ostream& err);

}  // namespace snigate::app
