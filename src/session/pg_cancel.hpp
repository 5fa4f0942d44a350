#pragma once
// PostgreSQL cancel requests. A client cancels a running query by opening a
// new connection and sending (process id, secret key) from the server's
// BackendKeyData; nothing in it names the server. When snigate terminated the
// client's TLS it saw that key and remembers which server issued it
// (CancelKeys); when it passed TLS through it never saw the key, so the
// request goes to every server that could have issued it. A wrong server
// ignores a key it did not issue.
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/asio.hpp"
#include "net/dial.hpp"
#include "session/cancel_limit.hpp"
#include "session/conn.hpp"
#include "session/refusal.hpp"
#include "session/snapshot.hpp"
#include "wire/postgres.hpp"

namespace snigate::session {

struct CancelTarget {
  std::string address;  // as configured, for logs
  net::HostPort at;
  net::Duration dial_timeout{2000};
  int proxy_protocol = 0;  // the service's PROXY protocol version: the cancel's connection starts with that header
};

// Keys of terminated sessions, process-wide (any worker may get the cancel).
class CancelKeys {
 public:
  // Held by a session for as long as its key is valid.
  class Entry {
   public:
    Entry() = default;
    Entry(Entry&& o) noexcept : keys_(std::exchange(o.keys_, nullptr)), key_(std::move(o.key_)) {}
    Entry& operator=(Entry&& o) noexcept {
      if (this != &o) {
        release();
        keys_ = std::exchange(o.keys_, nullptr);
        key_ = std::move(o.key_);
      }
      return *this;
    }
    ~Entry() { release(); }

   private:
    friend class CancelKeys;
    Entry(CancelKeys* keys, std::string key) : keys_(keys), key_(std::move(key)) {}
    void release();
    CancelKeys* keys_ = nullptr;
    std::string key_;
  };

  Entry add(const wire::postgres::CancelRequest& key, CancelTarget server);
  bool find(const wire::postgres::CancelRequest& key, CancelTarget& out) const;
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, CancelTarget> by_key_;
};

CancelKeys& cancel_keys();

// Where a cancel nobody claimed goes: every server of every service that took
// a PostgreSQL client through passthrough on this entry point (on a postgres
// entry point: every passthrough router's service).
std::vector<CancelTarget> passthrough_cancel_targets(const EntryRoutes& entry);

// Sends the CancelRequest to each target (plaintext, as the server expects
// it); returns how many took it. proxy_headers: the PROXY header for each
// version ([1], [2]), sent first to a target whose service asks for one.
net::awaitable<std::size_t> forward_cancel(const std::vector<CancelTarget>& targets,
                                           const wire::postgres::CancelRequest& req, std::string& why,
                                           const std::array<std::vector<std::uint8_t>, 3>& proxy_headers = {});

// Whether a cancel from this connection may be forwarded now, by the
// process's CancelLimiter; fan_out: it goes to every passthrough server.
// When not, the refusal ends the record cancel_dropped with the reason (the
// client gets no answer, as from a server: the protocol has none for a
// cancel); the log has one line a second at most, counting the drops in
// between.
Refused admit_cancel(const Conn& c, bool fan_out, CancelLimiter::Permit& permit);

}  // namespace snigate::session
