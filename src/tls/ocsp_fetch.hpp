#pragma once
// One OCSP exchange: ask a certificate's responder about it over plain HTTP
// and check the answer, blocking the calling thread (the stapler's own, never
// an io thread) for at most the timeout.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/http_url.hpp"
#include "tls/ocsp_schedule.hpp"
#include "tls/openssl.hpp"

namespace snigate::tls {

// The most a responder may send; real responses are a few kilobytes.
inline constexpr std::size_t kOcspMaxResponse = 64 * 1024;
// Per exchange (connect, send, receive), as Traefik's HTTP client.
inline constexpr std::chrono::seconds kOcspTimeout{10};

enum class OcspStatus { good, revoked, unknown };

struct OcspAnswer {
  std::string der;  // the whole OCSPResponse, to staple as it came
  OcspStatus status = OcspStatus::unknown;
  WallClock::time_point this_update;
  std::optional<WallClock::time_point> next_update;
};

// The responder URLs in leaf's Authority Information Access, in order.
std::vector<std::string> ocsp_responder_urls(X509* leaf);

// The URL to ask instead of url: its ocsp.responderOverrides entry when it
// has one (matched exactly, as Traefik does), else url itself.
const std::string& responder_to_ask(const std::string& url, const std::map<std::string, std::string>& overrides);

// The certificate of chain that issued leaf; nullptr when the file held none.
X509* find_issuer(X509* leaf, STACK_OF(X509)* chain);

// Checks der is a successful OCSP response about leaf, signed by issuer or a
// responder issuer delegated, current at `now`. nullopt with why otherwise.
std::optional<OcspAnswer> check_ocsp_response(const std::string& der, X509* leaf, X509* issuer,
                                              WallClock::time_point now, std::string& why);

// POSTs the request for leaf to url and checks the answer.
std::optional<OcspAnswer> fetch_ocsp(X509* leaf, X509* issuer, const config::HttpUrl& url, std::string& why);

const char* to_string(OcspStatus s);

}  // namespace snigate::tls
