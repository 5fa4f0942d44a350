#include "session/mysql_sessions.hpp"

#include <spdlog/spdlog.h>

#include <atomic>

namespace snigate::session {

std::uint32_t next_session_id() {
  static std::atomic<std::uint32_t> next{kFirstSessionId};
  std::uint32_t id = next.load(std::memory_order_relaxed);
  do {
    if (id < kLastSessionId) return 0;
  } while (!next.compare_exchange_weak(id, id - 1, std::memory_order_relaxed));
  if (id == kLastSessionId)
    spdlog::warn("mysql: all {} connection ids for snigate's greetings are used; later sessions get id 0, which "
                 "a KILL cannot name (restart snigate to have ids again)",
                 kFirstSessionId - kLastSessionId + 1);
  return id;
}

void MysqlSessions::Entry::release() {
  if (!sessions_) return;
  std::lock_guard lock(sessions_->mu_);
  sessions_->by_id_.erase(id_);
  sessions_ = nullptr;
}

void MysqlSessions::add(std::uint32_t id, MysqlSession session, Entry& entry) {
  entry.release();
  {
    std::lock_guard lock(mu_);
    by_id_.insert_or_assign(id, std::move(session));
  }
  entry.sessions_ = this;
  entry.id_ = id;
}

std::optional<MysqlSession> MysqlSessions::find(std::uint64_t id) const {
  if (id == 0 || id > kFirstSessionId) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = by_id_.find(static_cast<std::uint32_t>(id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::size_t MysqlSessions::size() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

MysqlSessions& mysql_sessions() {
  static MysqlSessions sessions;
  return sessions;
}

}  // namespace snigate::session
