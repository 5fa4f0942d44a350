#pragma once
// The pure half of the etcd client: request bodies for etcd v3's JSON gateway
// (grpc-gateway: keys and values in base64, int64 fields as strings), decoding
// its answers and watch lines, and sorting its errors into what the client does
// next. No I/O here, so all of it is unit-tested and fuzzed.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "kv/range_result.hpp"

namespace snigate::kv {

// The end of the key range holding every key that starts with prefix: the
// prefix with its last byte below 0xff incremented ("traefik/" -> "traefik0").
// "\0" (etcd: to the end of the key space) when there is no such byte.
std::string prefix_range_end(std::string_view prefix);

// "127.0.0.1:2379" -> "http://127.0.0.1:2379"; a given scheme is kept, except
// that tls forces https (TLS that is configured is never skipped).
std::string endpoint_url(std::string_view endpoint, bool tls);

// One operation of a write transaction.
struct KvOp {
  enum class Kind { put, remove, remove_prefix };
  Kind kind = Kind::put;
  std::string key;
  std::string value;  // put only
};

std::string range_body(std::string_view prefix);
std::string txn_body(const std::vector<KvOp>& ops);
std::string watch_create_body(std::string_view prefix, std::int64_t start_revision);
std::string authenticate_body(std::string_view user, std::string_view password);

// What the client does about an etcd error.
enum class ErrorKind {
  auth_rejected,  // the token is invalid or expired: authenticate again
  auth_needed,    // etcd has auth on and the client gave no user
  auth_failed,    // wrong user or password
  compacted,      // the revision asked for is gone: read everything again
  other,
};
ErrorKind classify_error(std::string_view message);

// The message of an error answer ({"error": "...", "code": N}); empty when the
// body is not one.
std::string error_message(std::string_view body);

// Answers. false (and error set) on a body that is not what etcd sends.
bool decode_range(std::string_view body, RangeResult& out, std::string& error);
bool decode_token(std::string_view body, std::string& token, std::string& error);

struct WatchEvent {
  bool deleted = false;
  std::string key;
  std::string value;  // put only
  std::int64_t mod_revision = 0;
};

// One line of the /v3/watch stream.
struct WatchMessage {
  std::string error;  // the stream's own error ({"error": ...}); empty otherwise
  bool created = false;
  bool canceled = false;
  std::string cancel_reason;
  std::int64_t compact_revision = 0;  // > 0: the start revision was compacted
  std::vector<WatchEvent> events;
};
bool decode_watch_line(std::string_view line, WatchMessage& out, std::string& error);

// Applies events in order; returns the keys that changed (sorted, once each)
// and raises revision to the newest event's.
std::vector<std::string> apply_events(config::KvPairs& pairs, const std::vector<WatchEvent>& events,
                                      std::int64_t& revision);

}  // namespace snigate::kv
