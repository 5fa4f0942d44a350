// snigate: run, check, explain, version.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <openssl/opensslv.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/explain.hpp"
#include "app/to_v3.hpp"
#include "config/config.hpp"
#include "observe/log.hpp"
#include "session/runtime.hpp"
#include "session/snapshot.hpp"

namespace {

using namespace snigate;

#ifdef __clang__
constexpr const char* kCompiler = "clang";
#else
constexpr const char* kCompiler = "GCC";
#endif

constexpr const char* kFooter = R"(
Without a subcommand, snigate runs. Without --config it serves its built-in
default: TLS on 127.0.0.1:8443 with a self-signed certificate, every connection
answered by whoami@internal (try: curl -k https://127.0.0.1:8443/).
SIGHUP reloads the configuration; SIGTERM drains and exits.

Exit codes:
  run       0 stopped by SIGTERM or SIGINT; 1 an entry point cannot listen;
            2 the configuration has errors (each printed as file:line: key: message)
  check     0 the configuration is valid; 1 it has errors
  explain   0 a router matches; 1 none does; 2 a bad query or configuration
  any       105 to 114: the command line itself is wrong (unknown option, bad
            value, a --config file that does not exist)
)";

// Loads and compiles; prints every warning and error. nullptr when invalid.
std::shared_ptr<const session::Snapshot> load_checked(const std::string& path, config::Loaded& cfg, bool quiet_ok,
                                                      bool print_warnings = true) {
  cfg = path.empty() ? config::builtin_default() : config::load(path);
  std::shared_ptr<const session::Snapshot> snap;
  if (cfg.errors.empty()) snap = session::compile(cfg, cfg.errors, &cfg.warnings);
  if (print_warnings)
    for (const auto& w : cfg.warnings) fmt::print(stderr, "warning: {}\n", w.to_string());
  for (const auto& e : cfg.errors) fmt::print(stderr, "{}\n", e.to_string());
  if (!snap) fmt::print(stderr, "{}: {} error(s)\n", path.empty() ? "built-in default" : path, cfg.errors.size());
  else if (!quiet_ok) fmt::print("{}: OK ({} entry point(s), {} router(s), {} service(s))\n", path, cfg.stat.entry_points.size(),
                                 cfg.dyn.routers.size(), cfg.dyn.services.size());
  return snap;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"snigate: an L4 ingress gateway that routes TLS, MySQL and PostgreSQL by server name"};
  cli.require_subcommand(0, 1);
  std::string config_path, log_level;
  cli.add_option("-c,--config", config_path, "configuration file (Traefik file-provider YAML)")->check(CLI::ExistingFile);
  // Validated as log.level is: a typo must not quietly leave the level at INFO.
  cli.add_option("--log-level", log_level, "DEBUG, INFO, WARN or ERROR (overrides log.level)")
      ->check(CLI::IsMember({"DEBUG", "INFO", "WARN", "ERROR", "TRACE", "WARNING", "FATAL", "PANIC"}, CLI::ignore_case));

  auto* check = cli.add_subcommand("check", "validate a configuration and print every error");
  check->add_option("-c,--config", config_path, "configuration file")->required()->check(CLI::ExistingFile);
  std::string to_v3_path;
  check->add_option("--to-v3", to_v3_path,
                    "print this dynamic configuration file with its Traefik v2 rules rewritten to v3 syntax")
      ->check(CLI::ExistingFile);

  app::ExplainQuery q;
  auto* explain = cli.add_subcommand("explain", "show which router would take a client, and why the others would not");
  explain->add_option("-c,--config", config_path, "configuration file")->required()->check(CLI::ExistingFile);
  explain->add_option("-e,--entrypoint", q.entry_point, "entry point name (needed when there are several)");
  explain->add_option("--sni", q.sni, "server name the client sends");
  explain->add_option("--alpn", q.alpn, "ALPN protocol the client offers (repeatable)");
  explain->add_option("--client-ip", q.client_ip, "client address");
  explain->add_flag("--plain", q.plain, "the client does not start TLS");
  explain->add_option("--user", q.user, "MySQL or PostgreSQL user name the client logs in with (user@host routes)");

  auto* version = cli.add_subcommand("version", "print the version");
  bool version_flag = false;
  cli.add_flag("--version", version_flag, "print the version");
  auto* help = cli.add_subcommand("help", "print this help");
  cli.footer(kFooter);
  CLI11_PARSE(cli, argc, argv);

  if (help->parsed()) {
    fmt::print("{}", cli.get_formatter()->make_help(&cli, argv[0], CLI::AppFormatMode::Normal));
    return 0;
  }
  if (version->parsed() || version_flag) {
    fmt::print("snigate {}\nbuilt with {} {}, {}\n", SNIGATE_VERSION, kCompiler, __VERSION__, OPENSSL_VERSION_TEXT);
    return 0;
  }
  config::Loaded cfg;
  if (check->parsed() && !to_v3_path.empty()) {
    // The configuration says which routers are v2 (core.defaultRuleSyntax).
    if (!load_checked(config_path, cfg, true)) return 1;
    return app::print_v3(to_v3_path, cfg.stat, std::cout, std::cerr);
  }
  if (check->parsed()) return load_checked(config_path, cfg, false) ? 0 : 1;
  if (explain->parsed()) {
    auto snap = load_checked(config_path, cfg, true);
    if (!snap) return 2;
    return app::explain(*snap, q, std::cout);
  }

  auto snap = load_checked(config_path, cfg, true, false);  // warnings go to the log below
  observe::setup_logging(log_level.empty() ? cfg.stat.log_level : log_level);
  if (!snap) return 2;
  for (const auto& w : cfg.warnings) spdlog::warn("{}", w.to_string());
  if (config_path.empty())
    spdlog::info("no --config given: built-in default, TLS on 127.0.0.1:8443 with a self-signed certificate, "
                 "every connection answered by whoami@internal (try: curl -k https://127.0.0.1:8443/)");
  return session::run(std::move(cfg), std::move(snap), config_path);
}
