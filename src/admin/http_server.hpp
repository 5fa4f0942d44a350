#pragma once
// The admin side's HTTP/1.1 server: GET and HEAD, keep-alive, every wait
// bounded. It runs on its own thread's io_context, so a slow or hostile
// client of the API costs that thread a socket and a coroutine, never a
// worker's time.
#include <chrono>
#include <cstddef>
#include <functional>

#include "admin/http.hpp"
#include "net/asio.hpp"

namespace snigate::admin {

struct HttpLimits {
  std::size_t max_line = 8192;   // request line (414 beyond)
  std::size_t max_head = 16384;  // request line and headers (431 beyond)
  std::chrono::milliseconds head_timeout{10'000};  // a request's head, from its first byte
  std::chrono::milliseconds idle_timeout{60'000};  // between requests on one connection
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_connections = 4096;  // beyond: 503 and close
};

using Handler = std::function<Response(const Request&)>;

// Accepts on acc until it is closed; each connection is served by its own
// coroutine on acc's executor.
net::awaitable<void> serve_http(net::tcp::acceptor& acc, Handler handler, HttpLimits limits);

// The bytes of a response: status line, headers, and (unless head_only) the body.
std::string http_response_bytes(const Response& r, bool keep_alive, bool head_only);

}  // namespace snigate::admin
