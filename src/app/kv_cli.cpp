#include "app/kv_cli.hpp"

#include <fmt/format.h>

#include <iostream>

#include "app/kv_check.hpp"
#include "config/kv_yaml.hpp"
#include "kv/etcd.hpp"

namespace snigate::app {
namespace {

constexpr std::chrono::milliseconds kReadTimeout{5'000};

void add_connection_options(CLI::App& cmd, KvOptions& o) {
  cmd.add_option("--endpoints", o.endpoints, "etcd endpoints, host:port or http(s)://host:port (default 127.0.0.1:2379)")
      ->delimiter(',');
  cmd.add_option("--root", o.root, "root key (Traefik's rootKey; default traefik)");
  cmd.add_option("--username", o.username, "etcd user (with --password)");
  // From the environment too: a command line is visible to every user in ps.
  cmd.add_option("--password", o.password, "etcd password")->envname("SNIGATE_ETCD_PASSWORD");
  cmd.add_option("--ca", o.ca, "CA file for etcd's certificate (implies https)")->check(CLI::ExistingFile);
  cmd.add_option("--cert", o.cert, "client certificate (PEM; implies https)")->check(CLI::ExistingFile);
  cmd.add_option("--key", o.key, "client certificate's key (PEM)")->check(CLI::ExistingFile);
  cmd.add_flag("--insecure-skip-verify", o.insecure_skip_verify, "do not verify etcd's certificate (implies https)");
}

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

int kv_put(const KvOptions& o) {
  const auto doc = check_dynamic_file(o.file, std::cerr);
  if (!doc) return 1;
  const config::EtcdProvider p = provider(o);
  const config::KvPairs pairs = config::yaml_to_kv(*doc, o.root);
  std::vector<std::string> remove;
  std::string error;
  if (o.replace) {
    const auto now = kv::read_prefix(p, o.root + "/", kReadTimeout, error);
    if (!now) {
      fmt::print(stderr, "error: etcd: {}; nothing written\n", error);
      return 1;
    }
    remove = keys_to_remove(now->pairs, pairs);
  }
  if (!kv::write_changes(p, pairs, remove, error)) {
    fmt::print(stderr, "error: etcd: {}\n", error);
    return 1;
  }
  fmt::print("{}: wrote {} key(s) under {}/", o.file, pairs.size(), o.root);
  if (o.replace) fmt::print(", deleted {}", remove.size());
  fmt::print("\n");
  return 0;
}

int kv_get(const KvOptions& o) {
  std::string error;
  const auto got = kv::read_prefix(provider(o), o.root + "/", kReadTimeout, error);
  if (!got) {
    fmt::print(stderr, "error: etcd: {}\n", error);
    return 1;
  }
  if (got->pairs.empty()) {
    fmt::print(stderr, "no keys under {}/ (revision {})\n", o.root, got->revision);
    return 0;
  }
  const config::KvDocument text = config::kv_to_yaml(got->pairs, o.root);
  YAML::Emitter out;
  try {
    YAML::Node doc = YAML::Load(text.yaml);
    out << doc;
  } catch (const YAML::Exception& e) {
    fmt::print(stderr, "error: the keys under {}/ do not make a YAML document: {}\n", o.root, e.what());
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

int run_kv(const KvOptions& o) { return o.put->parsed() ? kv_put(o) : kv_get(o); }

}  // namespace snigate::app
