#pragma once
// POSTs to etcd's JSON gateway with libcurl: one request with a timeout, or a
// stream of lines (/v3/watch) kept open until the caller ends it.
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace snigate::kv {

struct HttpRequest {
  std::string url;    // endpoint URL + path
  std::string token;  // etcd auth token; empty: none
  std::string body;   // JSON
  const config::EtcdProvider* opts = nullptr;  // TLS settings
  const std::atomic<bool>* stop = nullptr;     // set: the transfer ends within about a second
  // etcd's "hasleader" gRPC metadata (the gateway forwards Grpc-Metadata-*
  // headers): a member that loses its leader ends the watch instead of keeping
  // a stream open that no change will come through.
  bool require_leader = false;
};

struct HttpReply {
  long status = 0;     // HTTP status; 0 when no answer came
  std::string body;    // the answer (for a stream: what was not handed out as lines)
  std::string error;   // set: the transfer failed (connection refused, timeout, TLS, cut, stopped)
};

HttpReply post_json(const HttpRequest& req, std::chrono::milliseconds timeout);

// Hands each complete line to on_line, which returns false to end the stream.
// No overall timeout; TCP keepalive notices a peer that went silent.
HttpReply post_stream(const HttpRequest& req, const std::function<bool(std::string_view)>& on_line);

}  // namespace snigate::kv
