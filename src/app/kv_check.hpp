#pragma once
// Checks a dynamic configuration file as the file provider would read it,
// before `snigate kv put` writes any of it: loaded and compiled as `snigate
// check` does, with a stand-in static configuration.
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "config/config.hpp"
#include "config/yaml_doc.hpp"

namespace snigate::app {

// The file's YAML when it is a valid dynamic configuration; otherwise nullptr,
// with every error printed to err. With stat (the instances' static
// configuration), routers are checked against its entry points; without,
// each entry point a router names gets a stand-in, and err gets a warning
// that names them.
std::shared_ptr<const config::yaml::Document> check_dynamic_file(const std::string& path, std::ostream& err,
                                                                const config::Static* stat = nullptr);

}  // namespace snigate::app
