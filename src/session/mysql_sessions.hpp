#pragma once
// MySQL sessions by the connection id snigate's own greeting gave them. A
// driver cancels a query with `KILL QUERY <that id>` on another connection;
// the server knows the session by its own thread id, so snigate keeps, for each
// live session, which server it is connected to and the thread id there.
// Process-wide: the KILL may arrive on any worker.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace snigate::session {

// Greeting ids count down from the top of the 32-bit range, so they cannot
// meet a server's thread ids, which count up from 1; none is handed out twice.
inline constexpr std::uint32_t kFirstSessionId = 0xFFFFFFFE;
// Below this an id could be a busy server's thread id: the ids are used up.
inline constexpr std::uint32_t kLastSessionId = 0x80000000;

// The next greeting id; 0 once they are used up (logged once), which no
// server gives a thread (KILL 0 is refused as unknown), and which is never
// registered.
std::uint32_t next_session_id();

struct MysqlSession {
  std::string server;         // the server's address as connected (ip:port)
  std::uint32_t thread_id = 0;  // the server's id for this session
  std::string client;         // the client's address, for logs
  std::string router;
};

class MysqlSessions {
 public:
  // Held by a session for as long as it is connected; removes it when gone.
  class Entry {
   public:
    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    ~Entry() { release(); }

   private:
    friend class MysqlSessions;
    void release();
    MysqlSessions* sessions_ = nullptr;
    std::uint32_t id_ = 0;
  };

  // Registers id (a next_session_id() value, not 0) into entry.
  void add(std::uint32_t id, MysqlSession session, Entry& entry);
  std::optional<MysqlSession> find(std::uint64_t id) const;
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::uint32_t, MysqlSession> by_id_;
};

MysqlSessions& mysql_sessions();

}  // namespace snigate::session
