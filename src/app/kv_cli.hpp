#pragma once
// `snigate kv put|get`: publish a dynamic configuration file as Traefik KV keys
// in etcd, and print what etcd holds as YAML (snigate extension).
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace snigate::app {

struct KvOptions {
  std::vector<std::string> endpoints{"127.0.0.1:2379"};
  std::string root = "traefik";
  std::string username;
  std::string password;
  std::string ca, cert, key;
  bool insecure_skip_verify = false;
  bool replace = false;
  std::string config_path;  // -c: a static configuration's providers.etcd (and, for put, its entry points)
  std::string file;  // put only
  CLI::App* kv = nullptr;
  CLI::App* put = nullptr;
  CLI::App* get = nullptr;
};

void add_kv(CLI::App& cli, KvOptions& o);
// The exit code of `kv put` or `kv get`, whichever was given.
int run_kv(const KvOptions& o);

}  // namespace snigate::app
