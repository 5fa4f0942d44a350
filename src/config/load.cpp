// load() and load_dynamic(): which files are read, in which order, and how
// their dynamic parts are merged.
#include <fmt/core.h>

#include <algorithm>
#include <filesystem>

#include "config/loader.hpp"

namespace snigate::config {

namespace fs = std::filesystem;

namespace detail {

namespace {

// Built field by field: GCC 12 at -O3 misreads brace-initialized Error temporaries
// (-Wmaybe-uninitialized).
void push(std::vector<Error>& out, const std::string& file, int line, std::string path, std::string message) {
  Error& e = out.emplace_back();
  e.loc.file = file;
  e.loc.line = line;
  e.path = std::move(path);
  e.message = std::move(message);
}

void push(std::vector<Error>& out, const Loc& at, std::string path, std::string message) {
  push(out, at.file, at.line, std::move(path), std::move(message));
}

template <class T>
void merge_map(std::map<std::string, T>& into, std::map<std::string, T>& from, std::string_view prefix,
               std::vector<Error>& findings, OnTwice twice) {
  if (into.empty()) {  // the first file: nothing can be defined twice
    into = std::move(from);
    return;
  }
  for (auto& [name, item] : from) {
    auto [pos, fresh] = into.try_emplace(name, std::move(item));
    if (fresh) continue;
    const Loc& first = pos->second.loc;
    std::string message =
        twice == OnTwice::error
            ? fmt::format("\"{}\" is defined twice: here and at {}:{}", name, first.file, first.line)
            : fmt::format("ignored: \"{}\" is defined in two files; the first, at {}:{}, is kept (files are "
                          "read in name order, as Traefik does)",
                          name, first.file, first.line);
    push(findings, item.loc, fmt::format("{}.{}", prefix, name), std::move(message));
  }
}

// Every *.yml / *.yaml under dir, by name, descending into subdirectories as Traefik does.
void collect(const fs::path& dir, std::vector<std::string>& files, std::vector<Error>& warnings) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (const auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e);
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  for (const auto& e : entries) {
    std::string ext = e.path().extension().string();
    if (e.is_directory(ec)) collect(e.path(), files, warnings);
    else if (ext == ".yml" || ext == ".yaml") files.push_back(e.path().string());
    else if (ext == ".toml")
      push(warnings, e.path().string(), 0, "", "ignored: snigate reads YAML files only");
  }
}

void load_file(const std::string& path, Dynamic& acc, Loaded& into, bool only_dynamic,
               OnTwice twice = OnTwice::error) {
  auto doc = yaml::read_file(path, into.errors);
  if (!doc) return;
  walk::Ctx ctx(path, into.errors, into.warnings);
  Dynamic d;
  parse_dynamic_root(ctx, doc->root(), d, only_dynamic);
  check_names(d, into.errors);
  merge(acc, std::move(d), twice == OnTwice::error ? into.errors : into.warnings, twice);
}

}  // namespace

void merge(Dynamic& into, Dynamic&& from, std::vector<Error>& findings, OnTwice twice) {
  merge_map(into.routers, from.routers, "tcp.routers", findings, twice);
  merge_map(into.services, from.services, "tcp.services", findings, twice);
  merge_map(into.middlewares, from.middlewares, "tcp.middlewares", findings, twice);
  merge_map(into.servers_transports, from.servers_transports, "tcp.serversTransports", findings, twice);
  merge_map(into.tls_options, from.tls_options, "tls.options", findings, twice);
  for (CertFiles& c : from.certificates) into.certificates.push_back(std::move(c));
  if (!from.default_certificate) return;
  if (!into.default_certificate) {
    into.default_certificate = std::move(from.default_certificate);
    return;
  }
  const Loc& first = into.default_certificate->loc;
  push(findings, from.default_certificate->loc, "tls.stores.default.defaultCertificate",
       twice == OnTwice::error
           ? fmt::format("is defined twice: here and at {}:{}", first.file, first.line)
           : fmt::format("ignored: defined in two files; the first, at {}:{}, is kept (files are read in name "
                         "order, as Traefik does)",
                         first.file, first.line));
}

}  // namespace detail

void load_dynamic(const Static& stat, Loaded& into, const KvPairs* etcd) {
  Dynamic acc;
  std::error_code ec;
  if (!stat.static_file.empty()) detail::load_file(stat.static_file, acc, into, true);
  auto same_as_static = [&](const std::string& p) {
    return !stat.static_file.empty() && fs::equivalent(p, stat.static_file, ec);
  };
  if (!stat.file_filename.empty()) {
    if (!fs::exists(stat.file_filename, ec))
      detail::push(into.errors, stat.provider_loc, "providers.file.filename",
                   fmt::format("file \"{}\" does not exist", stat.file_filename));
    else if (!same_as_static(stat.file_filename))
      detail::load_file(stat.file_filename, acc, into, false);
  }
  if (!stat.file_directory.empty()) {
    if (!fs::is_directory(stat.file_directory, ec)) {
      detail::push(into.errors, stat.provider_loc, "providers.file.directory",
                   fmt::format("\"{}\" is not a directory", stat.file_directory));
    } else {
      // Within the directory a name defined again keeps its first definition,
      // as in Traefik; against the static file's own tcp/tls it is an error.
      std::vector<std::string> files;
      detail::collect(stat.file_directory, files, into.warnings);
      Dynamic from_dir;
      for (const std::string& f : files)
        if (!same_as_static(f)) detail::load_file(f, from_dir, into, false, detail::OnTwice::keep_first);
      detail::merge(acc, std::move(from_dir), into.errors);
    }
  }
  if (stat.etcd && etcd) detail::load_kv(*etcd, "etcd", stat.etcd->root_key, acc, into);
  detail::apply_rule_syntax(stat, acc, into.errors, into.warnings);
  detail::validate(stat, acc, into.errors, into.warnings);
  into.dyn = std::move(acc);
}

Loaded load(const std::string& static_path) {
  Loaded out;
  std::error_code ec;
  fs::path abs = fs::absolute(static_path, ec);
  out.stat.static_file = ec ? static_path : abs.lexically_normal().string();
  auto doc = yaml::read_file(out.stat.static_file, out.errors);
  if (!doc) {
    out.stat.static_file.clear();
    return out;
  }
  walk::Ctx ctx(out.stat.static_file, out.errors, out.warnings);
  detail::parse_static(ctx, doc->root(), out.stat);
  load_dynamic(out.stat, out);
  return out;
}

}  // namespace snigate::config
