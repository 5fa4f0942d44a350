#pragma once
// One HTTPS exchange with an ACME CA through libcurl, blocking the ACME
// thread only: the CA's certificate verified against the system CAs and the
// resolver's caCertificates, the headers ACME reads kept.
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace snigate::acme {

struct HttpResponse {
  long status = 0;        // 0: no answer (error says why)
  std::string body;
  std::string content_type;
  std::string location;
  std::string replay_nonce;
  std::string retry_after;          // as sent: seconds or an HTTP date
  std::vector<std::string> links;   // each Link header value
  std::string error;
};

struct HttpClient {
  std::string ca_bundle;  // PEM: the CAs to trust (empty: libcurl's default)
  std::chrono::milliseconds timeout{120'000};
  const std::atomic<bool>* stop = nullptr;  // set: a transfer in progress ends within a second
};

// method: "GET", "HEAD" or "POST" (body with Content-Type application/jose+json).
HttpResponse http_exchange(const HttpClient& client, const std::string& method, const std::string& url,
                           const std::string& body = {}, const std::string& accept = {});

// The system CAs (unless !with_system) followed by each file of extra: the
// bundle to give HttpClient. Sets error when a file cannot be read.
std::string ca_bundle(const std::vector<std::string>& extra, bool with_system, std::string& error);

// Retry-After as seconds from now; fallback when absent or unreadable.
std::chrono::seconds retry_after_seconds(const std::string& value, std::chrono::seconds fallback);

}  // namespace snigate::acme
