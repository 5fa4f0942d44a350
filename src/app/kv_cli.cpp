#include "app/kv_cli.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <iostream>

#include "app/kv_check.hpp"
#include "config/kv_yaml.hpp"
#include "kv/etcd.hpp"

namespace snigate::app {
namespace {

constexpr std::chrono::milliseconds kReadTimeout{5'000};

void add_connection_options(CLI::App& cmd, KvOptions& o) {
  CLI::Option* cfg = cmd.add_option("-c,--config", o.config_path,
                                    "the instances' static configuration: etcd's endpoints, rootKey, user and TLS "
                                    "from its providers.etcd (and, for put, its entry points for the check)")
                         ->check(CLI::ExistingFile);
  const std::vector<CLI::Option*> conn = {
      cmd.add_option("--endpoints", o.endpoints,
                     "etcd endpoints, host:port or http(s)://host:port (default 127.0.0.1:2379)")
          ->delimiter(','),
      cmd.add_option("--root", o.root, "root key (Traefik's rootKey; default traefik)"),
      cmd.add_option("--username", o.username, "etcd user (with --password)"),
      cmd.add_option("--ca", o.ca, "CA file for etcd's certificate (implies https)")->check(CLI::ExistingFile),
      cmd.add_option("--cert", o.cert, "client certificate (PEM; implies https)")->check(CLI::ExistingFile),
      cmd.add_option("--key", o.key, "client certificate's key (PEM)")->check(CLI::ExistingFile),
      cmd.add_flag("--insecure-skip-verify", o.insecure_skip_verify, "do not verify etcd's certificate (implies https)"),
  };
  for (CLI::Option* opt : conn) cfg->excludes(opt);
  // From the environment too: a command line is visible to every user in ps.
  cmd.add_option("--password", o.password, "etcd password")->envname("SNIGATE_ETCD_PASSWORD");
}

// Where kv talks to, and the static configuration it was taken from.
struct Target {
  config::EtcdProvider etcd;
  std::optional<config::Static> stat;
};

config::EtcdProvider provider(const KvOptions& o) {
  config::EtcdProvider p;
  p.endpoints = o.endpoints;
  p.root_key = o.root;
  p.username = o.username;
  p.password = o.password;
  if (!o.ca.empty() || !o.cert.empty() || !o.key.empty() || o.insecure_skip_verify)
    p.tls = config::EtcdTls{o.ca, o.cert, o.key, o.insecure_skip_verify};
  return p;
}

// Keys under the root that etcd has and the file does not.
std::vector<std::string> keys_to_remove(const config::KvPairs& in_etcd, const config::KvPairs& wanted) {
  std::vector<std::string> out;
  for (const auto& [key, value] : in_etcd)
    if (!wanted.count(key)) out.push_back(key);
  return out;
}

// The pairs whose value etcd does not have already: a put of an unchanged
// file writes nothing, so the instances do not reload for it.
config::KvPairs changed_only(const config::KvPairs& wanted, const config::KvPairs& in_etcd) {
  config::KvPairs out;
  for (const auto& [key, value] : wanted)
    if (auto it = in_etcd.find(key); it == in_etcd.end() || it->second != value) out.emplace(key, value);
  return out;
}

int kv_put(const Target& t, const KvOptions& o) {
  const auto doc = check_dynamic_file(o.file, std::cerr, t.stat ? &*t.stat : nullptr);
  if (!doc) return 1;
  const std::string& root = t.etcd.root_key;
  const config::KvPairs pairs = config::yaml_to_kv(doc->root(), root);
  std::string error;
  const auto now = kv::read_prefix(t.etcd, root + "/", kReadTimeout, error);
  if (!now) {
    fmt::print(stderr, "error: etcd: {}; nothing written\n", error);
    return 1;
  }
  const config::KvPairs writes = changed_only(pairs, now->pairs);
  const std::vector<std::string> remove = o.replace ? keys_to_remove(now->pairs, pairs) : std::vector<std::string>{};
  if (writes.empty() && remove.empty()) {
    fmt::print("{}: no change under {}/ ({} key(s) already as written)\n", o.file, root, pairs.size());
    return 0;
  }
  if (!kv::write_changes(t.etcd, writes, remove, error)) {
    fmt::print(stderr, "error: etcd: {}\n", error);
    return 1;
  }
  fmt::print("{}: wrote {} key(s) under {}/", o.file, writes.size(), root);
  if (pairs.size() > writes.size()) fmt::print(" ({} unchanged)", pairs.size() - writes.size());
  if (o.replace) fmt::print(", deleted {}", remove.size());
  fmt::print("\n");
  return 0;
}

int kv_get(const Target& t) {
  const std::string& root = t.etcd.root_key;
  std::string error;
  const auto got = kv::read_prefix(t.etcd, root + "/", kReadTimeout, error);
  if (!got) {
    fmt::print(stderr, "error: etcd: {}\n", error);
    return 1;
  }
  if (got->pairs.empty()) {
    fmt::print(stderr, "no keys under {}/ (revision {})\n", root, got->revision);
    return 0;
  }
  const config::KvDocument text = config::kv_to_yaml(got->pairs, root);
  YAML::Emitter out;
  try {
    YAML::Node doc = YAML::Load(text.yaml);
    out << doc;
  } catch (const YAML::Exception& e) {
    fmt::print(stderr, "error: the keys under {}/ do not make a YAML document: {}\n", root, e.what());
    return 1;
  }
  std::cout << out.c_str() << "\n";
  return 0;
}

}  // namespace

void add_kv(CLI::App& cli, KvOptions& o) {
  o.kv = cli.add_subcommand("kv", "publish a dynamic configuration to etcd as Traefik KV keys, or print etcd's");
  o.kv->require_subcommand(1);
  o.put = o.kv->add_subcommand("put", "check FILE as a dynamic configuration, then write it as keys under the root");
  add_connection_options(*o.put, o);
  o.put->add_flag("--replace", o.replace, "also delete the keys under the root that FILE does not have");
  o.put->add_option("file", o.file, "dynamic configuration (YAML)")->required()->check(CLI::ExistingFile);
  o.get = o.kv->add_subcommand("get", "print the keys under the root as a dynamic configuration (YAML)");
  add_connection_options(*o.get, o);
}

int run_kv(const KvOptions& o) {
  Target t;
  if (o.config_path.empty()) {
    t.etcd = provider(o);
  } else {
    config::Loaded l = config::load(o.config_path);
    for (const auto& e : l.errors) fmt::print(stderr, "{}\n", e.to_string());
    if (!l.errors.empty()) return 1;
    if (!l.stat.etcd) {
      fmt::print(stderr, "error: {} has no providers.etcd\n", o.config_path);
      return 1;
    }
    t.etcd = *l.stat.etcd;
    if (!o.password.empty()) t.etcd.password = o.password;
    t.stat = std::move(l.stat);
  }
  return o.put->parsed() ? kv_put(t, o) : kv_get(t);
}

}  // namespace snigate::app
