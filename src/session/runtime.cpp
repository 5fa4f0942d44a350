#include "session/runtime.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <csignal>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <filesystem>
#include <memory>
#include <thread>

#include "balance/health_checker.hpp"
#include "config/large_blocks.hpp"
#include "config/load_thread.hpp"
#include "net/asio.hpp"
#include "net/listener.hpp"
#include "net/port_owner.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "observe/notify.hpp"
#include "observe/provider_state.hpp"
#include "session/live.hpp"
#include "session/ocsp_stapler.hpp"
#include "session/route_reuse.hpp"
#include "session/session.hpp"
#include "session/snapshot.hpp"
#include "session/throttle.hpp"

namespace snigate::session {
namespace {

using net::awaitable;
using net::tcp;

// When the port is taken: by whom, if /proc says, and the way to share it.
std::string in_use_hint(const std::error_code& ec, std::uint16_t port, bool reuse_port) {
  if (ec != asio::error::address_in_use) return {};
  const std::string owner = net::port_owner(port);
  std::string hint = owner.empty() ? "" : fmt::format(" (port {} is held by {})", port, owner);
  if (!reuse_port)
    hint += "; two snigate processes share an address only when both set reusePort: true (during an upgrade)";
  return hint;
}

struct Listener {
  std::string entry;  // entry point name
  tcp::acceptor acc;
};

// Only the worker's own thread touches its sockets and timers, so Asio's
// reactor needs no locks (most of the lock calls a passthrough connection
// made). Other threads still post to the worker (reload, drain, DNS results)
// and stop it, which the scheduler's lock covers.
constexpr int kWorkerConcurrency = static_cast<int>(ASIO_CONCURRENCY_HINT_ID | ASIO_CONCURRENCY_HINT_LOCKING_SCHEDULER);

struct Worker {
  asio::io_context io{kWorkerConcurrency};
  std::deque<Listener> listeners;  // accept loops hold references: no relocation
  std::thread thread;
};

struct Gateway {
  config::Loaded cfg;
  std::string config_path;
  std::atomic<std::shared_ptr<const Snapshot>> current;
  std::vector<std::unique_ptr<Worker>> workers;
  asio::io_context main_io{1};
  std::string watched_signature;
  std::atomic<bool> draining{false};
  acme::Manager* acme = nullptr;  // certificatesResolvers configured: told what each new snapshot wants
  OcspStapler* ocsp = nullptr;  // ocsp configured: told about each new snapshot's certificates
  balance::HealthChecker* health = nullptr;  // told about each new snapshot's checked servers
  // providers.etcd: its keys as last reported (every reload reads them with
  // the files), and the throttle that turns its reports into reloads.
  std::optional<config::KvPairs> etcd;
  std::int64_t etcd_revision = 0;
  std::size_t etcd_changed = 0;  // keys changed since the last reload for etcd
  std::unique_ptr<Throttle> etcd_throttle;
};

// How long a worker may go on accepting before it lets its other work run:
// see accept_loop.
constexpr auto kAcceptTurn = std::chrono::microseconds(100);

awaitable<void> accept_loop(tcp::acceptor& acc, std::string ep_name, Gateway& gw) {
  auto turn_start = std::chrono::steady_clock::now();
  for (;;) {
    tcp::socket sock(acc.get_executor());
    tcp::endpoint peer;
    std::error_code ec = net::accept_now(acc, sock, peer);  // no wait while the backlog lasts
    if (ec == asio::error::would_block) {
      ec = co_await net::accept_next(acc, sock, peer);
      turn_start = std::chrono::steady_clock::now();
    }
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc.is_open()) co_return;
      co_await net::pause_after_accept_error(ep_name, ec);
      continue;
    }
    std::shared_ptr<const Snapshot> snap = gw.current.load(std::memory_order_acquire);
    const EntryRoutes* entry = snap->entry(ep_name);
    if (!entry) continue;  // cannot happen: entry points are static
    asio::co_spawn(acc.get_executor(), serve(std::move(sock), peer, std::move(snap), *entry), asio::detached);
    // Each new connection's first step runs inside co_spawn. Once those have
    // taken kAcceptTurn, other work gets a turn even with more connections
    // waiting: the worker sharing this socket, if free meanwhile, takes the
    // next one, and the connections already started are not held behind a
    // batch of new ones. A TLS handshake's first step (about half a
    // millisecond) ends the turn at once; passthrough connections (tens of
    // microseconds each) go a few to a turn, which saves an epoll_wait each.
    if (std::chrono::steady_clock::now() - turn_start >= kAcceptTurn) {
      co_await asio::post(acc.get_executor(), asio::use_awaitable);
      turn_start = std::chrono::steady_clock::now();
    }
  }
}

// Two workers watch each listening socket: whichever is free takes the next
// connection, so one busy worker does not hold up the connections the kernel
// would have hashed to it, and a connection wakes at most one idle worker
// for nothing (each waiting worker is woken; all but one find nothing).
// Every worker on one socket costs more system time per connection
// (docs/benchmarks.md).
constexpr std::size_t kWorkersPerSocket = 2;

net::PortShare port_share(bool reuse_port, std::size_t worker, std::size_t workers) {
  // With reusePort other processes may join, and this one joins them.
  if (reuse_port || worker > 0) return net::PortShare::join;
  return workers > kWorkersPerSocket ? net::PortShare::first : net::PortShare::alone;
}

// Size and modification time of every file the configuration came from.
std::string signature(const config::Static& stat) {
  std::string sig;
  auto add = [&sig](const std::string& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0)
      sig += p + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
             std::to_string(st.st_mtim.tv_nsec) + ";";
    else
      sig += p + ":missing;";
  };
  if (!stat.file_filename.empty()) add(stat.file_filename);
  if (!stat.file_directory.empty()) {
    std::error_code ec;
    for (const auto& e : std::filesystem::recursive_directory_iterator(stat.file_directory, ec)) add(e.path().string());
  }
  return sig;
}

// Whether an entry point's clients speak first can change with the routers;
// the listeners follow, on their workers' threads.
void apply_defer_accept(Gateway& gw, const Snapshot& old, const std::shared_ptr<const Snapshot>& snap) {
  for (const auto& [name, entry] : snap->entries)
    if (const EntryRoutes* was = old.entry(name); was && was->client_first != entry.client_first)
      spdlog::info("entry point {}: {}", name,
                   entry.client_first ? "now client-first: accepted once the first bytes are in"
                                      : "no longer client-first: accepted at once");
  for (auto& w : gw.workers)
    asio::post(w->io, [&w, snap] {
      for (auto& l : w->listeners)
        if (const EntryRoutes* e = snap->entry(l.entry); e && l.acc.is_open()) net::defer_accept(l.acc, e->client_first);
    });
}

// The loader's arena is free once a snapshot is compiled (config/load_thread.hpp),
// and the previous snapshot's chunks once it is gone; hand the pages back to
// the system, or the process stays at its peak.
void give_back_memory() { malloc_trim(0); }

// True when the new configuration serves.
bool reload(Gateway& gw, std::string_view why) {
  if (gw.config_path.empty() || gw.draining) return false;
  const observe::notify::Reload notify_reload;  // READY=1 again when this returns
  const config::LargeBlocksApart apart;
  std::shared_ptr<const Snapshot> serving = gw.current.load(std::memory_order_acquire);
  config::Loaded next = config::on_load_thread([&gw, &serving] {
    const config::Reuse reuse = reuse_of(*serving);
    config::Loaded loaded;
    loaded.stat = gw.cfg.stat;
    config::load_dynamic(loaded.stat, loaded, gw.etcd ? &*gw.etcd : nullptr, &reuse);
    return loaded;
  });
  std::shared_ptr<const Snapshot> snap;
  if (next.errors.empty()) snap = compile(next.stat, std::move(next.dyn), next.errors, &next.warnings, serving.get());
  serving.reset();  // so that the old snapshot is freed below, before the memory is given back
  for (const auto& w : next.warnings) spdlog::warn("{}", w.to_string());
  observe::count_reload(snap != nullptr);
  if (!snap) {
    spdlog::error("reload failed ({}): {} error(s); the previous configuration keeps serving", why, next.errors.size());
    for (const auto& e : next.errors) spdlog::error("reload failed: {}", e.to_string());
    observe::notify::status(fmt::format("reload failed ({}); generation {} keeps serving", why, gw.current.load()->generation));
    return false;
  }
  if (gw.ocsp) gw.ocsp->track(snap->certs);
  if (gw.acme) gw.acme->want(snap->acme_wants);
  std::shared_ptr<const Snapshot> old = gw.current.exchange(snap, std::memory_order_acq_rel);
  if (gw.health) gw.health->track(balance::probe_targets(snap->services));
  apply_defer_accept(gw, *old, snap);
  spdlog::info("config reloaded ({}): generation {}, {} router(s), {} unchanged", why,
               snap->generation, snap->router_count, snap->reused_routers);
  observe::notify::status(fmt::format("serving config generation {}, {} router(s)", snap->generation, snap->router_count));
  old.reset();  // the last reference, unless a connection still holds it
  give_back_memory();
  return true;
}

// An etcd report, on the main thread: kept, and applied by the throttle.
void take_kv_update(Gateway& gw, KvUpdate u) {
  gw.etcd = std::move(u.pairs);
  gw.etcd_revision = u.revision;
  gw.etcd_changed += u.changed;
  gw.etcd_throttle->poke();
}

void apply_etcd(Gateway& gw) {
  const std::string why = fmt::format("etcd revision {}, {} key(s) changed", gw.etcd_revision, gw.etcd_changed);
  gw.etcd_changed = 0;
  if (reload(gw, why)) observe::set_provider_applied("etcd", gw.etcd_revision);
}

awaitable<void> watch_files(Gateway& gw) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  gw.watched_signature = signature(gw.cfg.stat);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(net::nothrow);
    if (ec || gw.draining) co_return;
    std::string sig = signature(gw.cfg.stat);
    if (sig != gw.watched_signature) {
      gw.watched_signature = std::move(sig);
      reload(gw, "file changed");
    }
  }
}

void close_listeners(Gateway& gw, const std::string& entry) {
  for (auto& w : gw.workers)
    asio::post(w->io, [&w, entry] {
      for (auto& l : w->listeners)
        if (l.entry == entry) l.acc.close();
    });
}

// Each entry point goes on accepting for its requestAcceptGraceTimeout (so a
// load balancer in front has time to take snigate out of rotation), then
// closes its listeners; open connections then get graceTimeOut to end. As
// connections are counted for the whole process, the drain lasts until the
// latest entry point's accept grace plus its graceTimeOut.
awaitable<void> drain(Gateway& gw, std::string_view sig) {
  gw.draining = true;
  observe::notify::stopping(fmt::format("{}: draining", sig));
  const auto start = net::Clock::now();
  std::vector<std::pair<net::Duration, std::string>> closing;  // accept grace, entry point
  net::Duration grace{0};      // the longest graceTimeOut
  net::Duration until_end{0};  // from the signal to the end of the last entry point's grace
  net::Duration accepting{0};
  for (const auto& [name, ep] : gw.cfg.stat.entry_points) {
    closing.emplace_back(ep.accept_grace_timeout, name);
    grace = std::max(grace, ep.grace_timeout);
    until_end = std::max(until_end, ep.accept_grace_timeout + ep.grace_timeout);
    accepting = std::max(accepting, ep.accept_grace_timeout);
  }
  std::sort(closing.begin(), closing.end());
  if (accepting.count() > 0)
    spdlog::info("{}: still accepting for up to {} ms (requestAcceptGraceTimeout); {} connection(s) open", sig,
                 accepting.count(), open_connections.load());
  for (const auto& [after, name] : closing) {
    if (const auto now = net::Clock::now(); now < start + after)
      co_await net::sleep_for(std::chrono::duration_cast<net::Duration>(start + after - now));
    close_listeners(gw, name);
    if (after.count() > 0) spdlog::info("entry point {}: requestAcceptGraceTimeout ({} ms) over; no longer accepting", name, after.count());
  }
  const auto deadline = start + until_end;
  // Rounded up: "up to 9999 ms" for a 10 s grace reads as a typo.
  spdlog::info("{}: no longer accepting; draining {} connection(s) for up to {} ms", sig, open_connections.load(),
               std::chrono::ceil<net::Duration>(deadline - net::Clock::now()).count());
  while (open_connections.load() > 0 && net::Clock::now() < deadline) co_await net::sleep_for(net::Duration(20));
  const long left = open_connections.load();
  if (left > 0) spdlog::warn("graceTimeOut ({} ms) reached; closing {} connection(s)", grace.count(), left);
  else spdlog::info("drained; exiting");
  gw.main_io.stop();
}

awaitable<void> handle_signals(Gateway& gw, asio::signal_set& signals) {
  for (;;) {
    auto [ec, sig] = co_await signals.async_wait(net::nothrow);
    if (ec) co_return;
    if (sig == SIGHUP) {
      reload(gw, "SIGHUP");
      continue;
    }
    if (gw.draining) {  // a second stop signal: do not wait any longer
      gw.main_io.stop();
      co_return;
    }
    asio::co_spawn(gw.main_io, drain(gw, sig == SIGTERM ? "SIGTERM" : "SIGINT"), asio::detached);
  }
}

// Runs fn on every worker's thread and waits for them all, up to a second:
// a worker that is that busy is left out rather than waited for.
template <class T, class F>
T ask_workers(Gateway& gw, F fn) {
  struct Asked {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t answers = 0;
    T result{};
  };
  auto asked = std::make_shared<Asked>();
  for (auto& w : gw.workers)
    asio::post(w->io, [asked, fn] {
      std::lock_guard lock(asked->mutex);
      fn(asked->result);
      ++asked->answers;
      asked->done.notify_one();
    });
  std::unique_lock lock(asked->mutex);
  asked->done.wait_for(lock, std::chrono::seconds(1), [&] { return asked->answers == gw.workers.size(); });
  return asked->result;
}

RuntimeView view_of(Gateway& gw) {
  RuntimeView v;
  v.snapshot = [&gw] { return gw.current.load(std::memory_order_acquire); };
  v.connections = [&gw](std::size_t limit, std::size_t& total) {
    using Found = std::pair<std::vector<observe::OpenConnection>, std::size_t>;
    Found f = ask_workers<Found>(gw, [limit](Found& into) { gather_live(into.first, limit, into.second); });
    std::ranges::sort(f.first, {}, &observe::OpenConnection::start);
    if (f.first.size() > limit) f.first.resize(limit);
    total = f.second;
    return std::move(f.first);
  };
  v.live_by_router = [&gw] {
    return ask_workers<observe::LiveByRouter>(gw, [](observe::LiveByRouter& into) { sum_live(into); });
  };
  v.draining = [&gw] { return gw.draining.load(); };
  return v;
}

unsigned worker_count(const config::Static& stat) {
  return stat.workers > 0 ? static_cast<unsigned>(stat.workers) : std::max(1u, std::thread::hardware_concurrency());
}

// Opens the entry point's listening sockets, kWorkersPerSocket workers to a
// socket (or one each with reusePort), and starts each worker's accept
// loop. 0, or the exit code after logging why the entry point cannot listen.
int listen_on(Gateway& gw, const std::string& name, const config::EntryPoint& ep, const EntryRoutes& entry) {
  tcp::endpoint at;
  std::string error;
  if (!net::parse_listen_address(ep.address, at, error)) {
    spdlog::error("entryPoints.{}.address: {}", name, error);
    return 2;
  }
  const std::size_t n = gw.workers.size();
  for (std::size_t i = 0; i < n; ++i) {
    Worker* w = gw.workers[i].get();
    std::error_code ec;
    tcp::acceptor acc = !ep.reuse_port && i % kWorkersPerSocket != 0
                            ? net::share_listener(w->io, gw.workers[i - 1]->listeners.back().acc, ec)
                            : net::open_listener(w->io, at, port_share(ep.reuse_port, i, n), ec);
    w->listeners.push_back(Listener{name, std::move(acc)});
    if (ec) {
      spdlog::error("entry point {}: cannot listen on {}: {}{}", name, ep.address, ec.message(),
                    in_use_hint(ec, at.port(), ep.reuse_port));
      return 1;
    }
    net::defer_accept(w->listeners.back().acc, entry.client_first);
    asio::co_spawn(w->io, accept_loop(w->listeners.back().acc, name, gw), asio::detached);
  }
  const std::size_t sockets = ep.reuse_port ? n : (n + kWorkersPerSocket - 1) / kWorkersPerSocket;
  spdlog::info("entry point {} listening on {} ({} router(s), {} socket(s) for {} worker(s){}{})", name, ep.address,
               entry.routes.size(), sockets, n, ep.reuse_port ? ", reusePort" : "",
               entry.server_first   ? ", server-first: backends are connected at once"
               : entry.client_first ? ", client-first: accepted once the first bytes are in"
                                    : "");
  return 0;
}

// The main thread's own work: signals, and with a file provider and watch
// set, its files. As with Traefik, what is watched is the file provider; a
// single file with the dynamic part inline is reloaded by SIGHUP.
void start_main_tasks(Gateway& gw, asio::signal_set& signals) {
  asio::co_spawn(gw.main_io, handle_signals(gw, signals), asio::detached);
  const bool has_provider = !gw.cfg.stat.file_filename.empty() || !gw.cfg.stat.file_directory.empty();
  if (!gw.config_path.empty() && gw.cfg.stat.watch && has_provider)
    asio::co_spawn(gw.main_io, watch_files(gw), asio::detached);
}

// Runs the workers and the main thread until a stop signal ends the main
// loop, then stops the workers and waits for them.
void run_until_stopped(Gateway& gw, std::uint64_t generation, std::size_t routers) {
  for (auto& w : gw.workers)
    w->thread = std::thread([&w] {
      auto guard = asio::make_work_guard(w->io);
      w->io.run();
    });
  spdlog::info("snigate ready: {} worker(s), config generation {}", gw.workers.size(), generation);
  observe::notify::ready(fmt::format("serving config generation {}, {} router(s)", generation, routers));
  gw.main_io.run();
  for (auto& w : gw.workers) w->io.stop();
  for (auto& w : gw.workers) w->thread.join();
}

}  // namespace

int run(config::Loaded cfg, std::shared_ptr<const Snapshot> snap, const std::string& config_path,
        StartAdmin start_admin, StartProviders start_providers) {
  Gateway gw;
  gw.cfg = std::move(cfg);
  gw.cfg.dyn = {};  // the snapshot holds what it was compiled from; a reload loads anew
  give_back_memory();  // before the listeners open: from the first client on, the size it keeps
  gw.config_path = config_path;
  gw.current.store(snap);
  observe::open_access_log(gw.cfg.stat.access_log ? (gw.cfg.stat.access_log_path.empty() ? "-" : gw.cfg.stat.access_log_path) : "");

  // Before any worker thread exists, so no signal finds the default action.
  asio::signal_set signals(gw.main_io, SIGINT, SIGTERM, SIGHUP);
  // splice(2) into a socket whose peer has gone raises SIGPIPE, and splice
  // has no MSG_NOSIGNAL: the error must come back as EPIPE instead of
  // killing the process.
  std::signal(SIGPIPE, SIG_IGN);
  const unsigned n = worker_count(gw.cfg.stat);
  for (unsigned i = 0; i < n; ++i) gw.workers.push_back(std::make_unique<Worker>());
  const config::Static& stat = gw.cfg.stat;
  if (stat.prometheus || (stat.api && stat.api->insecure))
    observe::enable_metrics(stat.prometheus ? stat.prometheus->buckets : config::Prometheus{}.buckets);
  if (stat.api && stat.api->insecure) enable_live_connections();
  observe::count_reload(true);  // the first configuration counts, as in Traefik
  // Stored certificates are served from the first client on; orders start
  // once the listeners can answer their challenges.
  std::unique_ptr<acme::Manager> acme;
  if (!stat.acme.empty()) {
    acme = std::make_unique<acme::Manager>(stat);
    gw.acme = acme.get();
  }
  for (const auto& [name, ep] : stat.entry_points)
    if (!ep.admin)
      if (const int code = listen_on(gw, name, ep, *snap->entry(name)); code != 0) return code;
  if (acme) acme->want(snap->acme_wants);
  std::shared_ptr<void> admin;
  if (start_admin) {
    std::string error;
    admin = start_admin(view_of(gw), error);
    if (!error.empty()) {
      spdlog::error("{}", error);
      return 1;
    }
  }

  start_main_tasks(gw, signals);
  gw.etcd = gw.cfg.etcd;
  gw.etcd_throttle = std::make_unique<Throttle>(gw.main_io, gw.cfg.stat.providers_throttle, [&gw] { apply_etcd(gw); });
  // Started last, so its reports find the gateway whole; stopped (reset) before it goes.
  std::shared_ptr<void> providers;
  if (start_providers)
    providers = start_providers([&gw](KvUpdate u) {
      asio::post(gw.main_io, [&gw, u = std::move(u)]() mutable { take_kv_update(gw, std::move(u)); });
    });
  std::unique_ptr<OcspStapler> ocsp;
  if (gw.cfg.stat.ocsp) {
    ocsp = std::make_unique<OcspStapler>(gw.cfg.stat.ocsp_responder_overrides);
    ocsp->track(snap->certs);
    gw.ocsp = ocsp.get();
  }
  balance::HealthChecker health;
  health.track(balance::probe_targets(snap->services));
  gw.health = &health;
  const std::uint64_t generation = snap->generation;
  const std::size_t routers = snap->router_count;
  snap.reset();  // or the first configuration would outlive every reload
  run_until_stopped(gw, generation, routers);
  providers.reset();
  return 0;
}

}  // namespace snigate::session
