#include "acme/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <memory>
#include <mutex>
#include <sstream>

#include "tls/openssl.hpp"

namespace snigate::acme {
namespace {

struct CurlFree { void operator()(CURL* c) const { curl_easy_cleanup(c); } };
struct SlistFree { void operator()(curl_slist* h) const { curl_slist_free_all(h); } };

constexpr const char* kSystemBundle = "/etc/ssl/certs/ca-certificates.crt";

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto& r = *static_cast<HttpResponse*>(user);
  if (r.body.size() + size * n > 4 * 1024 * 1024) return 0;  // no ACME answer is this large
  r.body.append(data, size * n);
  return size * n;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto& r = *static_cast<HttpResponse*>(user);
  std::string_view line(data, size * n);
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::ranges::transform(name, name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string value = trim(line.substr(colon + 1));
  if (name == "replay-nonce") r.replay_nonce = value;
  else if (name == "location") r.location = value;
  else if (name == "retry-after") r.retry_after = value;
  else if (name == "content-type") r.content_type = value;
  else if (name == "link") r.links.push_back(value);
  return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* stop = static_cast<const std::atomic<bool>*>(user);
  return stop && stop->load() ? 1 : 0;
}

}  // namespace

HttpResponse http_exchange(const HttpClient& client, const std::string& method, const std::string& url,
                           const std::string& body, const std::string& accept) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpResponse r;
  std::unique_ptr<CURL, CurlFree> c(curl_easy_init());
  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add = [&](const std::string& h) { headers.reset(curl_slist_append(headers.release(), h.c_str())); };
  add("User-Agent: snigate-acme");
  if (!accept.empty()) add("Accept: " + accept);
  if (method == "POST") {
    add("Content-Type: application/jose+json");
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else if (method == "HEAD") {
    curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
  }
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(client.timeout.count()));
  curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, client.stop);
  curl_blob blob{const_cast<char*>(client.ca_bundle.data()), client.ca_bundle.size(), CURL_BLOB_NOCOPY};
  if (!client.ca_bundle.empty()) curl_easy_setopt(c.get(), CURLOPT_CAINFO_BLOB, &blob);
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, errbuf);
  const CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) {
    r.status = 0;
    r.error = *errbuf ? errbuf : curl_easy_strerror(rc);
    return r;
  }
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

std::string ca_bundle(const std::vector<std::string>& extra, bool with_system, std::string& error) {
  if (extra.empty()) return {};
  std::string out;
  auto append_file = [&](const std::string& path) {
    std::string pem, why;
    if (!tls::read_pem(path, pem, why)) {
      error = why;
      return false;
    }
    out += pem;
    if (!out.empty() && out.back() != '\n') out += '\n';
    return true;
  };
  if (with_system && !append_file(kSystemBundle)) return {};
  for (const auto& f : extra)
    if (!append_file(f)) return {};
  return out;
}

std::chrono::seconds retry_after_seconds(const std::string& value, std::chrono::seconds fallback) {
  if (value.empty()) return fallback;
  if (std::ranges::all_of(value, [](unsigned char c) { return std::isdigit(c); }) && value.size() < 9)
    return std::chrono::seconds(std::stol(value));
  std::tm tm{};
  std::istringstream in(value);
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  if (in.fail()) return fallback;
  const auto at = timegm(&tm);
  const auto now = std::time(nullptr);
  return std::chrono::seconds(at > now ? at - now : 0);
}

}  // namespace snigate::acme
