#include "app/kv_check.hpp"

#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "config/config.hpp"
#include "session/snapshot.hpp"

namespace snigate::app {
namespace {

namespace fs = std::filesystem;

bool same_ascii_lower(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

using config::yaml::Node;

// node[name] where the key matches case-insensitively, as Traefik's keys do.
Node child(const Node& node, std::string_view name) {
  for (std::size_t i = 0; i < node.size(); ++i)
    if (same_ascii_lower(node.key(i).scalar(), name)) return node.value(i);
  return Node();
}

// The entry points the file's routers name: the fleet's static configuration
// defines them, so the check gives each a stand-in.
std::set<std::string> named_entry_points(const Node& doc) {
  std::set<std::string> names;
  const Node routers = child(child(doc, "tcp"), "routers");
  for (std::size_t i = 0; i < routers.size(); ++i) {
    const Node eps = child(routers.value(i), "entrypoints");
    for (std::size_t j = 0; j < eps.size(); ++j)
      if (eps[j].is_scalar()) names.emplace(eps[j].scalar());
  }
  return names;
}

// A static configuration that reads `dynamic` with the file provider.
std::string stand_in_static(const std::string& dynamic, const std::set<std::string>& entry_points) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "entryPoints" << YAML::Value << YAML::BeginMap;
  int port = 1;
  for (const std::string& name : entry_points)
    out << YAML::Key << name << YAML::Value << YAML::BeginMap << YAML::Key << "address" << YAML::Value
        << "127.0.0.1:" + std::to_string(port++) << YAML::EndMap;
  out << YAML::EndMap << YAML::Key << "providers" << YAML::Value << YAML::BeginMap << YAML::Key << "file"
      << YAML::Value << YAML::BeginMap << YAML::Key << "filename" << YAML::Value << dynamic << YAML::Key << "watch"
      << YAML::Value << false << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  return out.c_str();
}

// The file read with the stand-in static configuration.
config::Loaded load_with_stand_ins(const std::string& abs, const Node& doc, std::ostream& err) {
  const std::set<std::string> names = named_entry_points(doc);
  if (!names.empty()) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    err << "warning: entry points not checked (" << list
        << "): give --config with the instances' static configuration to check them\n";
  }
  std::error_code ec;
  std::string tmp = (fs::temp_directory_path(ec) / "snigate-kv-put-XXXXXX.yaml").string();
  const int fd = mkstemps(tmp.data(), 5);
  config::Loaded loaded;
  if (fd < 0) {
    loaded.errors.push_back(config::Error{{}, "", "cannot create a temporary file for the check"});
    return loaded;
  }
  close(fd);
  std::ofstream(tmp) << stand_in_static(abs, names) << "\n";
  loaded = config::load(tmp);
  fs::remove(tmp, ec);
  return loaded;
}

// The file read as the only dynamic part of the instances' static configuration.
config::Loaded load_with_static(const std::string& abs, const config::Static& stat) {
  config::Loaded loaded;
  loaded.stat = stat;
  loaded.stat.static_file.clear();
  loaded.stat.file_directory.clear();
  loaded.stat.file_filename = abs;
  loaded.stat.etcd.reset();
  config::load_dynamic(loaded.stat, loaded);
  return loaded;
}

}  // namespace

std::shared_ptr<const config::yaml::Document> check_dynamic_file(const std::string& path, std::ostream& err,
                                                                const config::Static* stat) {
  std::vector<config::Error> read_errors;
  auto doc = config::yaml::read_file(path, read_errors);
  if (!doc) {
    for (const auto& e : read_errors) err << e.to_string() << "\n";
    err << path << ": not YAML; nothing written\n";
    return nullptr;
  }
  std::error_code ec;
  const std::string abs = fs::absolute(path, ec).string();
  config::Loaded loaded = stat ? load_with_static(abs, *stat) : load_with_stand_ins(abs, doc->root(), err);
  // Rules, TLS options and the routes' checks are compile()'s, as for `snigate check`.
  if (loaded.errors.empty()) session::compile(loaded, loaded.errors, &loaded.warnings);
  for (const auto& e : loaded.errors) err << e.to_string() << "\n";
  if (!loaded.errors.empty()) {
    err << path << ": " << loaded.errors.size() << " error(s); nothing written\n";
    return nullptr;
  }
  return doc;
}

}  // namespace snigate::app
