// snigate: run, check, explain, kv, version.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <openssl/opensslv.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "admin/admin_server.hpp"
#include "app/etcd_start.hpp"
#include "app/kv_cli.hpp"
#include "app/to_v3.hpp"
#include "config/config.hpp"
#include "config/large_blocks.hpp"
#include "config/load_thread.hpp"
#include "explain/explain.hpp"
#include "explain/text.hpp"
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
answered by whoami@internal (try: curl -k https://127.0.0.1:8443/), and the
dashboard, the API, /metrics and /ping on http://127.0.0.1:8080/.
SIGHUP reloads the configuration; SIGTERM drains and exits.

Exit codes:
  run       0 stopped by SIGTERM or SIGINT; 1 an entry point cannot listen;
            2 the configuration has errors (each printed as file:line: key: message)
  check     0 the configuration is valid; 1 it has errors
  explain   0 a router matches; 1 none does; 2 a bad query or configuration
  kv        0 done; 1 the file has errors (nothing written) or etcd failed
  any       105 to 114: the command line itself is wrong (unknown option, bad
            value, a --config file that does not exist)
)";

// What load_checked does with providers.etcd's keys: serve() reads them
// itself; explain goes on without them when etcd does not answer, and check
// fails, since it cannot say the configuration is valid.
enum class EtcdKeys { skip, if_reachable, required };

// Loads and compiles; prints every warning and error. nullptr when invalid.
std::shared_ptr<const session::Snapshot> load_checked(const std::string& path, config::Loaded& cfg, bool quiet_ok,
                                                      bool print_warnings = true,
                                                      EtcdKeys etcd = EtcdKeys::if_reachable) {
  const config::LargeBlocksApart apart;
  bool etcd_missing = false;
  cfg = config::on_load_thread([&] {
    config::Loaded loaded = path.empty() ? config::builtin_default() : config::load(path);
    if (etcd == EtcdKeys::skip || !loaded.errors.empty() || !loaded.stat.etcd) return loaded;
    std::optional<config::KvPairs> keys = app::read_etcd_for_check(loaded.stat, etcd == EtcdKeys::required);
    etcd_missing = !keys && etcd == EtcdKeys::required;
    if (!keys) return loaded;
    config::Loaded with;
    with.stat = loaded.stat;
    config::load_dynamic(with.stat, with, &*keys);
    with.etcd = std::move(keys);
    return with;
  });
  if (etcd_missing) return nullptr;
  std::shared_ptr<const session::Snapshot> snap;
  const std::size_t routers = cfg.dyn.routers.size(), services = cfg.dyn.services.size();
  if (cfg.errors.empty())
    snap = session::compile(cfg.stat, std::move(cfg.dyn), cfg.errors, &cfg.warnings);
  if (print_warnings)
    for (const auto& w : cfg.warnings) fmt::print(stderr, "warning: {}\n", w.to_string());
  for (const auto& e : cfg.errors) fmt::print(stderr, "{}\n", e.to_string());
  if (!snap) fmt::print(stderr, "{}: {} error(s)\n", path.empty() ? "built-in default" : path, cfg.errors.size());
  else if (!quiet_ok) fmt::print("{}: OK ({} entry point(s), {} router(s), {} service(s))\n", path, cfg.stat.entry_points.size(),
                                 routers, services);
  return snap;
}

// What the command line says, as CLI11 fills it in, and the subcommands
// (to ask which one was given).
struct CommandLine {
  std::string config_path;
  std::string log_level;
  std::string to_v3_path;
  explain::Query query;
  bool version_flag = false;
  CLI::App* check = nullptr;
  CLI::App* explain = nullptr;
  CLI::App* version = nullptr;
  CLI::App* help = nullptr;
  app::KvOptions kv;
};

void add_run_options(CLI::App& cli, CommandLine& c) {
  cli.require_subcommand(0, 1);
  cli.add_option("-c,--config", c.config_path, "configuration file (Traefik file-provider YAML)")->check(CLI::ExistingFile);
  // Validated as log.level is: a typo must not quietly leave the level at INFO.
  cli.add_option("--log-level", c.log_level, "DEBUG, INFO, WARN or ERROR (overrides log.level)")
      ->check(CLI::IsMember({"DEBUG", "INFO", "WARN", "ERROR", "TRACE", "WARNING", "FATAL", "PANIC"}, CLI::ignore_case));
}

void add_check(CLI::App& cli, CommandLine& c) {
  c.check = cli.add_subcommand("check", "validate a configuration and print every error");
  c.check->add_option("-c,--config", c.config_path, "configuration file")->required()->check(CLI::ExistingFile);
  c.check->add_option("--to-v3", c.to_v3_path,
                      "print this dynamic configuration file with its Traefik v2 rules rewritten to v3 syntax")
      ->check(CLI::ExistingFile);
}

void add_explain(CLI::App& cli, CommandLine& c) {
  explain::Query& q = c.query;
  c.explain = cli.add_subcommand("explain", "show which router would take a client, and why the others would not");
  c.explain->add_option("-c,--config", c.config_path, "configuration file")->required()->check(CLI::ExistingFile);
  c.explain->add_option("-e,--entrypoint", q.entry_point, "entry point name (needed when there are several)");
  c.explain->add_option("--sni", q.sni, "server name the client sends");
  c.explain->add_option("--alpn", q.alpn, "ALPN protocol the client offers (repeatable)");
  c.explain->add_option("--client-ip", q.client_ip, "client address");
  c.explain->add_flag("--plain", q.plain, "the client does not start TLS");
  c.explain->add_flag("--all", q.all, "list every router (by default an entry point with more than 20 lists only "
                                      "the candidates for the client's name and counts the others)");
  c.explain->add_option("--user", q.user, "MySQL or PostgreSQL user name the client logs in with (user@host routes)");
}

void add_version_and_help(CLI::App& cli, CommandLine& c) {
  c.version = cli.add_subcommand("version", "print the version");
  cli.add_flag("--version", c.version_flag, "print the version");
  c.help = cli.add_subcommand("help", "print this help");
  cli.footer(kFooter);
}

// Without a subcommand: load, then serve until a stop signal.
int serve(const CommandLine& c) {
  config::Loaded cfg;
  auto snap = load_checked(c.config_path, cfg, true, false, EtcdKeys::skip);  // warnings go to the log below
  observe::setup_logging(c.log_level.empty() ? cfg.stat.log_level : c.log_level);
  if (!snap) return 2;
  for (const auto& w : cfg.warnings) spdlog::warn("{}", w.to_string());
  session::StartProviders start_providers;
  if (cfg.stat.etcd) start_providers = app::etcd_provider(*cfg.stat.etcd, app::add_etcd_at_start(cfg, snap));
  if (c.config_path.empty())
    spdlog::info("no --config given: built-in default, TLS on 127.0.0.1:8443 with a self-signed certificate, "
                 "every connection answered by whoami@internal (try: curl -k https://127.0.0.1:8443/); "
                 "the dashboard on http://127.0.0.1:8080/dashboard/");
  const config::Static stat = cfg.stat;
  auto start_admin = [stat](const session::RuntimeView& view, std::string& error) -> std::shared_ptr<void> {
    admin::State state{stat, SNIGATE_VERSION, std::chrono::system_clock::now(), view.snapshot, view.connections,
                       view.live_by_router, view.draining};
    return admin::start_admin(std::move(state), error);
  };
  return session::run(std::move(cfg), std::move(snap), c.config_path, start_admin, start_providers);
}

// The exit code of the command the parsed line asks for.
int dispatch(CLI::App& cli, const CommandLine& c, const char* argv0) {
  if (c.help->parsed()) {
    fmt::print("{}", cli.get_formatter()->make_help(&cli, argv0, CLI::AppFormatMode::Normal));
    return 0;
  }
  if (c.version->parsed() || c.version_flag) {
    fmt::print("snigate {}\nbuilt with {} {}, {}\n", SNIGATE_VERSION, kCompiler, __VERSION__, OPENSSL_VERSION_TEXT);
    return 0;
  }
  config::Loaded cfg;
  if (c.kv.kv->parsed()) return app::run_kv(c.kv);
  if (c.check->parsed() && !c.to_v3_path.empty()) {
    // The configuration says which routers are v2 (core.defaultRuleSyntax).
    if (!load_checked(c.config_path, cfg, true)) return 1;
    return app::print_v3(c.to_v3_path, cfg.stat, std::cout, std::cerr);
  }
  if (c.check->parsed()) return load_checked(c.config_path, cfg, false, true, EtcdKeys::required) ? 0 : 1;
  if (c.explain->parsed()) {
    auto snap = load_checked(c.config_path, cfg, true);
    if (!snap) return 2;
    const explain::Result result = explain::explain(*snap, c.query);
    std::cout << explain::to_text(result);
    return explain::exit_code(result);
  }
  return serve(c);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"snigate: an L4 ingress gateway that routes TLS, MySQL and PostgreSQL by server name"};
  CommandLine c;
  add_run_options(cli, c);
  add_check(cli, c);
  add_explain(cli, c);
  app::add_kv(cli, c.kv);
  add_version_and_help(cli, c);
  CLI11_PARSE(cli, argc, argv);
  return dispatch(cli, c, argv[0]);
}
