#pragma once
// Internal to src/config: the pieces load() and load_dynamic() are made of.
#include "config/yaml_doc.hpp"

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/kv_yaml.hpp"
#include "config/yaml_walk.hpp"

namespace snigate::config::detail {


// The static keys of the static file (tcp/tls/tcpServersTransport are left to
// parse_dynamic_root with only_dynamic = true).
void parse_static(walk::Ctx& ctx, const yaml::Node& root, Static& out);
// api, metrics, ping (config/admin_static.cpp); then, with the entry points
// known, mark or make the entry points that serve them.
void parse_api(walk::Ctx& ctx, const walk::Item& it, Static& out);
void parse_metrics(walk::Ctx& ctx, const walk::Item& it, Static& out);
void parse_ping(walk::Ctx& ctx, const walk::Item& it, Static& out);
void resolve_admin_entry_points(walk::Ctx& ctx, Static& out);
// providers.etcd (config/etcd_static.cpp).
void parse_etcd_provider(walk::Ctx& ctx, const walk::Item& it, Static& out);
// certificatesResolvers (config/acme_static.cpp); then, with the entry points
// known, check the ones httpChallenge names.
void parse_acme_resolvers(walk::Ctx& ctx, const walk::Item& it, Static& out);
void check_acme_entry_points(walk::Ctx& ctx, const Static& out);

// The dynamic keys of one file. only_dynamic: the file is the static file, so
// skip its static keys without a word (parse_static has checked them).
void parse_dynamic_root(walk::Ctx& ctx, const yaml::Node& root, Dynamic& out, bool only_dynamic);

void parse_tcp(walk::Ctx& ctx, const walk::Item& it, Dynamic& out);
void parse_tls(walk::Ctx& ctx, const walk::Item& it, Dynamic& out);
// certFile + keyFile (both required; files must be readable), plus one extra key if given.
void parse_cert_files(walk::Ctx& ctx, const walk::Item& it, CertFiles& out, const walk::Key* extra = nullptr);
// tcp.middlewares.<name> (config/middlewares.cpp).
void parse_middleware(walk::Ctx& ctx, const std::string& name, const walk::Item& it, Dynamic& out);
void parse_transport(walk::Ctx& ctx, const walk::Item& it, ServersTransport& out);
// config/services.cpp: loadBalancer.healthCheck, loadBalancer.passiveHealthCheck, weighted.
void parse_health_check(walk::Ctx& ctx, const walk::Item& it, HealthCheck& out);
void parse_passive_health_check(walk::Ctx& ctx, const walk::Item& it, PassiveHealthCheck& out);
void parse_weighted(walk::Ctx& ctx, const walk::Item& it, Service& svc);
// Weighted services' children: known services ("x@file" becomes "x"), no cycles.
void validate_services(Dynamic& dyn, std::vector<Error>& errors);

// What merge() does with a name that `into` already has.
enum class OnTwice {
  error,       // an error naming both places
  keep_first,  // the first definition stays, a warning names both places (Traefik's directory provider)
};

// Adds one file's dynamic part to `into`. `findings` gets the errors or the
// warnings, as `twice` says.
void merge(Dynamic& into, Dynamic&& from, std::vector<Error>& findings, OnTwice twice = OnTwice::error);

// A reference to a name of another provider: "x@file" becomes "x" (file
// names carry no suffix inside snigate), "x@etcd" and "x@internal" stay.
// Returns what is wrong with any other suffix, or "".
std::string normalize_provider(std::string& name);

// A name with "@" in it is an error: "@" separates a name from its provider.
void check_names(const Dynamic& d, std::vector<Error>& errors);

// One source of dynamic configuration, read before any is walked: whether a
// reload may reuse routers depends on all of them (config/fingerprint.hpp).
struct Source {
  std::string name;                            // the file, or the provider ("etcd")
  std::shared_ptr<const yaml::Document> doc;  // null: not readable (errors say why)
  std::vector<Error> errors;                   // found reading it, given when it is walked
  std::vector<Error> warnings;
  bool only_dynamic = false;       // the static file: its static keys are parse_static's
  bool in_directory = false;       // providers.file.directory: a name defined again keeps the first
  bool ends_directory = false;     // the directory's last file
  std::optional<KvDocument> kv;    // a KV provider's keys, as the document that was parsed
};

// A KV provider's keys as a Source (config/providers.cpp), and its walk:
// parsed as a file would be, names given the provider's suffix ("db@etcd",
// references too).
Source read_kv(const KvPairs& pairs, std::string_view provider, std::string_view root_key);
Dynamic walk_kv(const Source& src, Loaded& into, const Reuse* reuse);

// Routers in Traefik v2 rule syntax (ruleSyntax, core.defaultRuleSyntax): each
// rule is rewritten to v3, with a deprecation warning that shows the v3 spelling.
void apply_rule_syntax(const Static& stat, Dynamic& dyn, std::vector<Error>& errors, std::vector<Error>& warnings);

// Cross references: services, entry points, TLS options, transports.
void validate(const Static& stat, Dynamic& dyn, std::vector<Error>& errors, std::vector<Error>& warnings);

}  // namespace snigate::config::detail
