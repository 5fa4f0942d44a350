#include "app/etcd_start.hpp"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "config/large_blocks.hpp"
#include "config/load_thread.hpp"
#include "observe/provider_state.hpp"

namespace snigate::app {

namespace {

// How long the start waits for etcd before serving the files alone.
constexpr std::chrono::milliseconds kStartRead{3'000};

std::string prefix_of(const config::EtcdProvider& opts) { return opts.root_key + "/"; }

}  // namespace

std::optional<kv::RangeResult> add_etcd_at_start(config::Loaded& cfg, std::shared_ptr<const session::Snapshot>& snap) {
  const config::EtcdProvider& opts = *cfg.stat.etcd;
  std::string error;
  std::optional<kv::RangeResult> read = kv::read_prefix(opts, prefix_of(opts), kStartRead, error);
  if (!read) {
    spdlog::warn("etcd: cannot read {} ({}); starting with the file provider's configuration, and etcd's once it "
                 "answers", prefix_of(opts), error);
    return std::nullopt;
  }
  const config::LargeBlocksApart apart;  // as every load is made (config/large_blocks.hpp)
  config::Loaded with = config::on_load_thread([&] {
    config::Loaded loaded;
    loaded.stat = cfg.stat;
    config::load_dynamic(loaded.stat, loaded, &read->pairs);
    return loaded;
  });
  std::shared_ptr<const session::Snapshot> next;
  if (with.errors.empty()) next = session::compile(with.stat, std::move(with.dyn), with.errors, &with.warnings);
  if (!next) {
    spdlog::error("etcd: the keys under {} at revision {} have {} error(s); starting without them until a valid "
                  "change", prefix_of(opts), read->revision, with.errors.size());
    for (const auto& e : with.errors) spdlog::error("etcd: {}", e.to_string());
    return read;
  }
  for (const auto& w : with.warnings)
    if (w.loc.file.starts_with("etcd")) spdlog::warn("{}", w.to_string());
  spdlog::info("etcd: {} key(s) under {} at revision {}", read->pairs.size(), prefix_of(opts), read->revision);
  with.etcd = read->pairs;
  observe::set_provider_applied("etcd", read->revision);
  cfg = std::move(with);
  snap = std::move(next);
  return read;
}

session::StartProviders etcd_provider(const config::EtcdProvider& opts, std::optional<kv::RangeResult> initial) {
  return [opts, initial = std::move(initial)](session::KvSink sink) -> std::shared_ptr<void> {
    auto on_update = [sink](const config::KvPairs& all, std::int64_t revision, const std::vector<std::string>& changed) {
      sink(session::KvUpdate{all, revision, changed.empty() ? all.size() : changed.size()});
    };
    return std::make_shared<kv::EtcdWatcher>(opts, prefix_of(opts), on_update, initial);
  };
}

std::optional<config::KvPairs> read_etcd_for_check(const config::Static& stat, bool required) {
  std::string error;
  auto read = kv::read_prefix(*stat.etcd, prefix_of(*stat.etcd), kStartRead, error);
  if (!read) {
    fmt::print(stderr, "{}: providers.etcd: cannot read {} ({}); etcd's keys were not {}\n",
               required ? "error" : "warning", prefix_of(*stat.etcd), error, required ? "checked" : "used");
    return std::nullopt;
  }
  return std::move(read->pairs);
}

}  // namespace snigate::app
