// EtcdWatcher: a full read, then a watch from the next revision; on a lost
// stream, back off, move to the next endpoint and resume.
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>

#include "kv/backoff.hpp"
#include "kv/etcd.hpp"
#include "kv/http.hpp"
#include "kv/session.hpp"
#include "observe/provider_state.hpp"

namespace snigate::kv {

namespace {
constexpr std::chrono::milliseconds kReadTimeout{5'000};

// Why a watch stream ended.
struct StreamEnd {
  bool compacted = false;  // resume impossible: read everything again
  std::string why;
};
}  // namespace

struct WatchLoop {
  Session session;
  std::string prefix;
  std::string provider;  // the provider whose state /metrics shows; empty: none
  OnUpdate on_update;
  config::KvPairs pairs;
  std::int64_t revision = 0;
  bool have_state = false;
  Backoff backoff;
  // An outage is reported at its first failure and then once a minute, not
  // at every retry (one every 5 s at most backoff).
  int failures = 0;
  std::chrono::steady_clock::time_point last_warned{};
  std::atomic<bool> stop{false};
  std::mutex m;
  std::condition_variable cv;

  void run();
  void report_failure(bool moved, const std::string& why, std::chrono::milliseconds delay);
  bool full_read(std::string& why);
  StreamEnd watch();
  bool on_line(std::string_view line, StreamEnd& end);
  void notify(const std::vector<std::string>& changed);
  void wait(std::chrono::milliseconds d) {
    std::unique_lock lock(m);
    cv.wait_for(lock, d, [&] { return stop.load(); });
  }
};

// The state stays and the watch goes on when the handler throws: the next
// change hands it the whole state again.
void WatchLoop::notify(const std::vector<std::string>& changed) {
  if (!provider.empty()) observe::set_provider_seen(provider, revision);
  try {
    on_update(pairs, revision, changed);
  } catch (const std::exception& e) {
    spdlog::error("etcd: handling the change to {} at revision {} failed: {}", prefix, revision, e.what());
  }
}

bool WatchLoop::full_read(std::string& why) {
  const CallResult r = call_any(session, "/v3/kv/range", range_body(prefix), kReadTimeout);
  RangeResult got;
  if (!r.ok) why = r.error;
  else if (!decode_range(r.body, got, why)) why = session.endpoint_name() + ": " + why;
  if (!why.empty()) return false;
  pairs = std::move(got.pairs);
  revision = got.revision;
  have_state = true;
  failures = 0;
  spdlog::info("etcd: read {} key(s) under {} at revision {} from {}", pairs.size(), prefix, revision,
               session.endpoint_name());
  notify({});
  return true;
}

bool WatchLoop::on_line(std::string_view line, StreamEnd& end) {
  if (line.empty()) return true;
  WatchMessage msg;
  std::string error;
  if (!decode_watch_line(line, msg, error)) {
    end.why = error;
    return false;
  }
  const std::string& reason = msg.error.empty() ? msg.cancel_reason : msg.error;
  if (msg.compact_revision > 0 || classify_error(reason) == ErrorKind::compacted) {
    end = {true, "revision " + std::to_string(revision + 1) + " was compacted"};
    return false;
  }
  if (!msg.error.empty() || msg.canceled) {
    if (classify_error(reason) == ErrorKind::auth_rejected) session.token.clear();
    end.why = "watch canceled: " + (reason.empty() ? std::string("no reason given") : reason);
    return false;
  }
  if (msg.created) {
    spdlog::info("etcd: watching {} from revision {} through {}", prefix, revision + 1, session.endpoint_name());
    backoff.reset();
    failures = 0;
    if (!provider.empty()) observe::set_provider_watching(provider, true);
  }
  if (msg.events.empty()) return true;
  notify(apply_events(pairs, msg.events, revision));
  return true;
}

StreamEnd WatchLoop::watch() {
  StreamEnd end;
  if (!session.opts.username.empty() && session.token.empty()) {
    const CallResult a = authenticate(session, kReadTimeout);
    if (!a.ok) return {false, a.error};
  }
  const HttpRequest req{session.url("/v3/watch"), session.token, watch_create_body(prefix, revision + 1),
                        &session.opts, &stop, true};
  const HttpReply reply = post_stream(req, [&](std::string_view line) { return on_line(line, end); });
  if (!end.why.empty()) return end;
  if (!reply.error.empty()) end.why = reply.error;
  else if (reply.status != 200) end.why = "HTTP " + std::to_string(reply.status) + " " + error_message(reply.body);
  else end.why = "the stream ended";
  return end;
}

void WatchLoop::report_failure(bool moved, const std::string& why, std::chrono::milliseconds delay) {
  if (!provider.empty()) observe::set_provider_watching(provider, false);
  const auto now = std::chrono::steady_clock::now();
  const bool loud = failures == 0 || now - last_warned >= std::chrono::minutes(1);
  ++failures;
  if (loud) last_warned = now;
  const auto level = loud ? spdlog::level::warn : spdlog::level::debug;
  const std::string again = failures > 1 ? fmt::format(" (failure {} in a row; repeated once a minute)", failures) : "";
  if (moved) spdlog::log(level, "etcd: cannot read {} ({}); retrying in {} ms{}", prefix, why, delay.count(), again);
  else spdlog::log(level, "etcd: lost {} ({}); retrying in {} ms{}", session.endpoint_name(), why, delay.count(), again);
}

void WatchLoop::run() {
  while (!stop) {
    std::string why;
    bool moved = false;
    if (!have_state) {
      if (full_read(why)) continue;
      moved = true;  // call_any has tried every endpoint
    } else {
      const StreamEnd end = watch();
      if (stop) break;
      why = end.why;
      if (end.compacted) {
        have_state = false;
        spdlog::warn("etcd: {} through {}; reading everything again", why, session.endpoint_name());
        continue;
      }
    }
    const std::chrono::milliseconds delay = backoff.next();
    report_failure(moved, why, delay);
    if (!moved) session.next_endpoint();
    wait(delay);
  }
}

EtcdWatcher::EtcdWatcher(config::EtcdProvider opts, std::string prefix, OnUpdate on_update,
                         std::optional<RangeResult> initial, std::string provider)
    : loop_(std::make_unique<WatchLoop>()) {
  WatchLoop& w = *loop_;
  w.provider = std::move(provider);
  w.session.opts = std::move(opts);
  w.session.stop = &w.stop;
  w.prefix = std::move(prefix);
  w.on_update = std::move(on_update);
  if (initial) {
    w.pairs = std::move(initial->pairs);
    w.revision = initial->revision;
    w.have_state = true;
  }
  if (w.session.opts.endpoints.empty()) {
    spdlog::error("etcd: no endpoints to watch {} through", w.prefix);
    return;
  }
  thread_ = std::thread([&w] {
    try {
      w.run();
    } catch (const std::exception& e) {
      spdlog::error("etcd: the watch of {} stopped: {}", w.prefix, e.what());
    }
  });
}

EtcdWatcher::~EtcdWatcher() {
  {
    std::lock_guard lock(loop_->m);
    loop_->stop = true;
  }
  loop_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace snigate::kv
