#pragma once
// A client's way to etcd: which endpoint it talks to and its auth token. Every
// call authenticates first when a user is configured and there is no token
// yet, and once more when etcd rejects the token (expired, or etcd restarted).
#include <atomic>
#include <chrono>
#include <string>

#include "config/config.hpp"
#include "kv/etcd_json.hpp"

namespace snigate::kv {

struct Session {
  config::EtcdProvider opts;
  std::size_t endpoint = 0;  // index into opts.endpoints
  std::string token;
  const std::atomic<bool>* stop = nullptr;

  const std::string& endpoint_name() const { return opts.endpoints[endpoint]; }
  std::string url(std::string_view path) const;
  void next_endpoint();
};

// How a call ended.
struct CallResult {
  bool ok = false;
  bool unreachable = false;  // no answer from this endpoint (or a server error): another may do
  ErrorKind kind = ErrorKind::other;
  std::string body;   // ok: the answer
  std::string error;  // not ok: what went wrong, without the endpoint's name
};

CallResult call(Session& s, std::string_view path, const std::string& body, std::chrono::milliseconds timeout);

// POST /v3/auth/authenticate; sets s.token.
CallResult authenticate(Session& s, std::chrono::milliseconds timeout);

// Tries call() on each endpoint in turn from s.endpoint, while the answer is
// `unreachable`; the error names every endpoint tried.
CallResult call_any(Session& s, std::string_view path, const std::string& body, std::chrono::milliseconds timeout);

}  // namespace snigate::kv
