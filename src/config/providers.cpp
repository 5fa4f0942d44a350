// Names across providers: what the file provider defines is "db" (shown as
// "db@file"), what etcd defines is "db@etcd"; a reference without a suffix
// means the referrer's own provider, as in Traefik.
#include <fmt/core.h>

#include <yaml-cpp/yaml.h>

#include "config/kv_yaml.hpp"
#include "config/loader.hpp"

namespace snigate::config::detail {

namespace {

template <class T>
void check_map_names(const std::map<std::string, T>& items, std::string_view section, std::vector<Error>& errors) {
  for (const auto& [name, item] : items)
    if (name.find('@') != std::string::npos)
      errors.push_back(Error{item.loc, fmt::format("{}.{}", section, name),
                             "a name must not contain \"@\": it separates a name from its provider (db@etcd)"});
}

// "default" names the built-in TLS options and servers transport of every provider.
void qualify_ref(std::string& name, std::string_view suffix, bool keep_default = false) {
  if (name.empty() || name.find('@') != std::string::npos || (keep_default && name == "default")) return;
  name += suffix;
}

template <class T>
void qualify_keys(std::map<std::string, T>& items, std::string_view suffix, bool keep_default = false) {
  std::map<std::string, T> out;
  for (auto& [name, item] : items) {
    std::string q = name;
    qualify_ref(q, suffix, keep_default);
    item.name = q;
    out.emplace(std::move(q), std::move(item));
  }
  items = std::move(out);
}

void qualify(Dynamic& d, std::string_view provider) {
  const std::string suffix = fmt::format("@{}", provider);
  qualify_keys(d.routers, suffix);
  qualify_keys(d.services, suffix);
  qualify_keys(d.middlewares, suffix);
  qualify_keys(d.servers_transports, suffix, true);
  qualify_keys(d.tls_options, suffix, true);
  for (auto& [name, r] : d.routers) {
    qualify_ref(r.service, suffix);
    for (std::string& m : r.middlewares) qualify_ref(m, suffix);
    if (r.tls) qualify_ref(r.tls->options, suffix, true);
  }
  for (auto& [name, s] : d.services) {
    qualify_ref(s.servers_transport, suffix, true);
    for (WeightedChild& c : s.children) qualify_ref(c.name, suffix);
  }
}

}  // namespace

std::string normalize_provider(std::string& name) {
  constexpr std::string_view file = "@file";
  if (name.size() > file.size() && name.ends_with(file)) name.resize(name.size() - file.size());
  const auto at = name.rfind('@');
  if (at == std::string::npos) return "";
  const std::string_view provider = std::string_view(name).substr(at + 1);
  if (provider == "etcd" || provider == "internal") return "";
  return fmt::format("\"{}\" names provider \"{}\": snigate's providers are file, etcd and internal", name,
                     provider);
}

void check_names(const Dynamic& d, std::vector<Error>& errors) {
  check_map_names(d.routers, "tcp.routers", errors);
  check_map_names(d.services, "tcp.services", errors);
  check_map_names(d.middlewares, "tcp.middlewares", errors);
  check_map_names(d.servers_transports, "tcp.serversTransports", errors);
  check_map_names(d.tls_options, "tls.options", errors);
}

Source read_kv(const KvPairs& pairs, std::string_view provider, std::string_view root_key) {
  Source src;
  src.name = std::string(provider);
  src.kv = kv_to_yaml(pairs, root_key);
  auto parsed = yaml::parse(src.kv->yaml);
  if (const auto* e = std::get_if<yaml::SyntaxError>(&parsed)) {
    const auto line = static_cast<std::size_t>(e->line - 1);
    const std::string key = e->line > 0 && line < src.kv->line_keys.size() ? src.kv->line_keys[line] : "";
    src.errors.push_back(Error{Loc{fmt::format("{} key {}", provider, key), 0}, "", e->message});
    return src;
  }
  src.doc = std::get<std::shared_ptr<const yaml::Document>>(std::move(parsed));
  return src;
}

Dynamic walk_kv(const Source& src, Loaded& into, const Reuse* reuse) {
  walk::Ctx ctx(src.name, into.errors, into.warnings);
  ctx.set_kv_keys(&src.kv->line_keys);
  ctx.set_reuse(reuse, "@" + src.name);
  Dynamic d;
  parse_dynamic_root(ctx, src.doc->root(), d, false);
  check_names(d, into.errors);
  qualify(d, src.name);
  return d;
}

}  // namespace snigate::config::detail
