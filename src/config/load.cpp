// load() and load_dynamic(): which files are read, in which order, and how
// their dynamic parts are merged.
#include <fmt/core.h>

#include <algorithm>
#include <filesystem>

#include "config/fingerprint.hpp"
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

Source read_file(const std::string& path, bool only_dynamic) {
  Source src;
  src.name = path;
  src.only_dynamic = only_dynamic;
  src.doc = yaml::read_file(path, src.errors);
  return src;
}

Source unreadable(const Loc& at, std::string path, std::string message) {
  Source src;
  push(src.errors, at, std::move(path), std::move(message));
  return src;
}

// Every source of dynamic configuration, in the order they are merged: the
// static file, providers.file (filename, then the directory's files by name),
// then etcd.
std::vector<Source> read_sources(const Static& stat, const KvPairs* etcd) {
  std::vector<Source> out;
  std::error_code ec;
  if (!stat.static_file.empty()) out.push_back(read_file(stat.static_file, true));
  auto same_as_static = [&](const std::string& p) {
    return !stat.static_file.empty() && fs::equivalent(p, stat.static_file, ec);
  };
  if (!stat.file_filename.empty()) {
    if (!fs::exists(stat.file_filename, ec))
      out.push_back(unreadable(stat.provider_loc, "providers.file.filename",
                               fmt::format("file \"{}\" does not exist", stat.file_filename)));
    else if (!same_as_static(stat.file_filename))
      out.push_back(read_file(stat.file_filename, false));
  }
  if (!stat.file_directory.empty()) {
    if (!fs::is_directory(stat.file_directory, ec)) {
      out.push_back(unreadable(stat.provider_loc, "providers.file.directory",
                               fmt::format("\"{}\" is not a directory", stat.file_directory)));
    } else {
      std::vector<std::string> files;
      std::vector<Error> warnings;
      collect(stat.file_directory, files, warnings);
      const std::size_t first = out.size();
      for (const std::string& f : files)
        if (!same_as_static(f)) out.push_back(read_file(f, false));
      if (out.size() == first) out.emplace_back();  // holds the directory's warnings
      out[first].warnings = std::move(warnings);
      for (std::size_t i = first; i < out.size(); ++i) out[i].in_directory = true;
      out.back().ends_directory = true;
    }
  }
  if (stat.etcd && etcd) out.push_back(read_kv(*etcd, "etcd", stat.etcd->root_key));
  return out;
}

// The tcp.routers maps of a document, found as the walk finds keys (in any case).
std::vector<yaml::Node> routers_maps(const yaml::Node& root) {
  std::vector<yaml::Node> out;
  auto each = [](const yaml::Node& map, std::string_view key, auto&& fn) {
    if (!map.is_map()) return;
    for (std::size_t i = 0; i < map.size(); ++i)
      if (const yaml::Node k = map.key(i); k.is_scalar() && walk::iequal(k.scalar(), key)) fn(map.value(i));
  };
  each(root, "tcp", [&](const yaml::Node& tcp) { each(tcp, "routers", [&](const yaml::Node& r) { out.push_back(r); }); });
  return out;
}

// Of every source, in order, less its routers: while it stays the same, an
// unchanged router means what it meant (config/fingerprint.hpp). 0 when a
// source is unreadable or will not be vouched for.
std::uint64_t context_of(const std::vector<Source>& sources) {
  std::uint64_t h = fingerprint_combine(0, sources.size());
  for (const Source& s : sources) {
    h = fingerprint_combine(h, std::hash<std::string>{}(s.name));
    if (!s.errors.empty() || (!s.doc && !s.name.empty())) return 0;
    if (!s.doc) continue;  // a directory without files
    const std::vector<yaml::Node> skip = routers_maps(s.doc->root());
    const std::uint64_t f = fingerprint_except(s.doc->root(), skip);
    if (f == 0) return 0;
    h = fingerprint_combine(h, f);
  }
  return h == 0 ? 1 : h;
}

Dynamic walk_file(const Source& src, Loaded& into, const Reuse* reuse) {
  walk::Ctx ctx(src.name, into.errors, into.warnings);
  ctx.set_reuse(reuse, "");
  Dynamic d;
  parse_dynamic_root(ctx, src.doc->root(), d, src.only_dynamic);
  check_names(d, into.errors);
  return d;
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

void load_dynamic(const Static& stat, Loaded& into, const KvPairs* etcd, const Reuse* reuse) {
  const std::vector<detail::Source> sources = detail::read_sources(stat, etcd);
  const std::uint64_t context = detail::context_of(sources);
  const Reuse* lent = reuse && reuse->context != 0 && reuse->context == context ? reuse : nullptr;
  Dynamic acc;
  Dynamic from_dir;  // within the directory a name defined again keeps its first definition, as in Traefik
  for (const detail::Source& s : sources) {
    into.errors.insert(into.errors.end(), s.errors.begin(), s.errors.end());
    into.warnings.insert(into.warnings.end(), s.warnings.begin(), s.warnings.end());
    if (s.doc) {
      Dynamic d = s.kv ? detail::walk_kv(s, into, lent) : detail::walk_file(s, into, lent);
      if (s.in_directory) detail::merge(from_dir, std::move(d), into.warnings, detail::OnTwice::keep_first);
      else detail::merge(acc, std::move(d), into.errors);
    }
    // Against the static file's own tcp/tls a name defined again is an error.
    if (s.ends_directory) detail::merge(acc, std::move(from_dir), into.errors);
  }
  detail::apply_rule_syntax(stat, acc, into.errors, into.warnings);
  detail::validate(stat, acc, into.errors, into.warnings);
  acc.context = context;
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
