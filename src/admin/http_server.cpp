#include "admin/http_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "wire/http_request.hpp"

namespace snigate::admin {
namespace {

using net::awaitable;
using net::tcp;

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

Response text(int status, std::string body) { return Response{status, "text/plain; charset=utf-8", body + "\n", {}}; }

// What one complete request head gets.
Response respond(const wire::HttpRequestHead& head, const Handler& handler) {
  if (head.has_body) return text(413, "request bodies are not accepted: the admin API is read-only");
  if (head.method != "GET" && head.method != "HEAD") {
    Response r = text(405, "only GET and HEAD are served");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  Request req;
  req.method = std::string(head.method);
  std::string error;
  if (!wire::split_http_target(head.target, req.path, req.query, error)) return text(400, error);
  try {
    return handler(req);
  } catch (const std::exception& e) {
    spdlog::error("admin: {} {}: {}", req.method, req.path, e.what());
    return text(500, "internal error");
  }
}

awaitable<bool> write_all(tcp::socket& sock, const std::string& bytes, std::chrono::milliseconds timeout) {
  auto done = co_await net::within(timeout, asio::async_write(sock, asio::buffer(bytes), net::nothrow));
  co_return done && !std::get<0>(*done);
}

// Reads until buf holds a complete head, a bad one, or the client stops.
// The first byte of a request that follows another may take idle; the
// whole head then gets head_timeout.
awaitable<wire::HttpParseResult> read_head(tcp::socket& sock, std::string& buf, const HttpLimits& limits,
                                           bool first, bool& gone) {
  const auto head_deadline_from = [&] { return net::Clock::now() + limits.head_timeout; };
  auto deadline = first || !buf.empty() ? head_deadline_from() : net::Clock::now() + limits.idle_timeout;
  for (;;) {
    wire::HttpParseResult p = wire::parse_http_request_head(buf, limits.max_line, limits.max_head);
    if (p.status != wire::HttpParse::need_more) co_return p;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - net::Clock::now());
    std::array<char, 4096> chunk;
    auto got = left.count() > 0 ? co_await net::within(left, sock.async_read_some(asio::buffer(chunk), net::nothrow))
                                : std::nullopt;
    if (!got) {
      wire::HttpParseResult t;
      t.status = wire::HttpParse::bad;
      t.http_status = 408;
      t.error = "the request head did not arrive in time";
      gone = buf.empty();  // an idle keep-alive connection is closed without a word
      co_return t;
    }
    auto [ec, n] = *got;
    if (ec) {
      gone = true;
      co_return p;
    }
    if (buf.empty()) deadline = head_deadline_from();
    buf.append(chunk.data(), n);
  }
}

awaitable<void> serve_connection(tcp::socket sock, std::shared_ptr<const Handler> handler, HttpLimits limits,
                                 std::shared_ptr<std::size_t> open) {
  ++*open;
  std::string buf;
  for (bool first = true;; first = false) {
    bool gone = false;
    wire::HttpParseResult p = co_await read_head(sock, buf, limits, first, gone);
    if (gone) break;
    const bool bad = p.status == wire::HttpParse::bad;
    const Response r = bad ? text(p.http_status, p.error) : respond(p.head, *handler);
    const bool keep = !bad && p.head.keep_alive && !p.head.has_body;
    if (!co_await write_all(sock, http_response_bytes(r, keep, !bad && p.head.method == "HEAD"), limits.write_timeout) || !keep)
      break;
    buf.erase(0, p.head.size);
  }
  --*open;
}

}  // namespace

std::string http_response_bytes(const Response& r, bool keep_alive, bool head_only) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", r.status,
                                reason_phrase(r.status), r.content_type, r.body.size());
  for (const auto& [k, v] : r.headers) out += fmt::format("{}: {}\r\n", k, v);
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!head_only) out += r.body;
  return out;
}

awaitable<void> serve_http(tcp::acceptor& acc, Handler handler, HttpLimits limits) {
  auto shared = std::make_shared<const Handler>(std::move(handler));
  auto open = std::make_shared<std::size_t>(0);
  for (;;) {
    auto [ec, sock] = co_await acc.async_accept(net::nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc.is_open()) co_return;
      spdlog::warn("admin: accept: {}", ec.message());  // out of file descriptors: let some close
      co_await net::sleep_for(net::Duration(100));
      continue;
    }
    if (*open >= limits.max_connections) {
      const std::string busy = http_response_bytes(text(503, "too many admin connections"), false, false);
      std::error_code ignored;
      asio::write(sock, asio::buffer(busy), ignored);  // a fresh socket's buffer takes it at once
      continue;
    }
    asio::co_spawn(acc.get_executor(), serve_connection(std::move(sock), shared, limits, open), asio::detached);
  }
}

}  // namespace snigate::admin
