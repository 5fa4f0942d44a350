#include "kv/http.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <memory>
#include <mutex>

namespace snigate::kv {
namespace {

constexpr long kConnectTimeoutMs = 3'000;
// A silent peer is given up after idle + count * interval seconds.
constexpr long kKeepIdleS = 5;
constexpr long kKeepIntervalS = 2;
constexpr int kKeepCount = 3;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct HeadersDeleter {
  void operator()(curl_slist* h) const { curl_slist_free_all(h); }
};

// What the callbacks see.
struct Transfer {
  HttpReply* reply = nullptr;
  const std::function<bool(std::string_view)>* on_line = nullptr;
  const std::atomic<bool>* stop = nullptr;
  bool ended_by_reader = false;
};

std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  t.reply->body.append(data, size * n);
  if (!t.on_line) return size * n;
  std::size_t start = 0, nl;
  while ((nl = t.reply->body.find('\n', start)) != std::string::npos) {
    bool more = false;
    try {
      more = (*t.on_line)(std::string_view(t.reply->body).substr(start, nl - start));
    } catch (...) {  // never through libcurl's C frames
    }
    start = nl + 1;
    if (!more) {
      t.ended_by_reader = true;
      return 0;  // ends the transfer
    }
  }
  t.reply->body.erase(0, start);
  return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto& t = *static_cast<Transfer*>(user);
  return t.stop && t.stop->load() ? 1 : 0;
}

// curl sets SO_KEEPALIVE, idle and interval; the probe count is ours.
int on_socket(void*, curl_socket_t fd, curlsocktype) {
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kKeepCount, sizeof kKeepCount);
  return CURL_SOCKOPT_OK;
}

void set_tls(CURL* c, const config::EtcdProvider& opts) {
  if (!opts.tls) return;
  const config::EtcdTls& tls = *opts.tls;
  if (!tls.ca.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca.c_str());
  if (!tls.cert.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, tls.cert.c_str());
  if (!tls.key.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, tls.key.c_str());
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

HttpReply perform(const HttpRequest& req, long timeout_ms, const std::function<bool(std::string_view)>* on_line) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpReply reply;
  std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
  if (!c) return HttpReply{0, {}, "cannot create a libcurl handle"};
  std::unique_ptr<curl_slist, HeadersDeleter> headers(curl_slist_append(nullptr, "Content-Type: application/json"));
  const std::string auth = "Authorization: " + req.token;
  if (!req.token.empty()) headers.reset(curl_slist_append(headers.release(), auth.c_str()));
  if (req.require_leader) headers.reset(curl_slist_append(headers.release(), "Grpc-Metadata-hasleader: true"));
  Transfer t{&reply, on_line, req.stop};
  char error[CURL_ERROR_SIZE] = {};
  CURL* h = c.get();
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, kKeepIdleS);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, kKeepIntervalS);
  curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, on_socket);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  if (req.opts) set_tls(h, *req.opts);
  const CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  if (rc != CURLE_OK && !t.ended_by_reader) {
    reply.error = rc == CURLE_ABORTED_BY_CALLBACK ? "stopped" : error[0] ? error : curl_easy_strerror(rc);
  }
  return reply;
}

}  // namespace

HttpReply post_json(const HttpRequest& req, std::chrono::milliseconds timeout) {
  return perform(req, static_cast<long>(timeout.count()), nullptr);
}

HttpReply post_stream(const HttpRequest& req, const std::function<bool(std::string_view)>& on_line) {
  return perform(req, 0, &on_line);
}

}  // namespace snigate::kv
