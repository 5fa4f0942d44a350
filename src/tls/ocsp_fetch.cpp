#include "tls/ocsp_fetch.hpp"

#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace snigate::tls {
namespace {

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, Freer<OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, Freer<OCSP_RESPONSE_free>>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, Freer<OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, Freer<OCSP_CERTID_free>>;
using BioPtr = std::unique_ptr<BIO, Freer<BIO_free_all>>;
using StorePtr = std::unique_ptr<X509_STORE, Freer<X509_STORE_free>>;
struct StackFree { void operator()(STACK_OF(X509)* s) const { sk_X509_free(s); } };  // not the certificates

std::optional<WallClock::time_point> to_time(const ASN1_GENERALIZEDTIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return WallClock::from_time_t(timegm(&tm));
}

}  // namespace

const char* to_string(OcspStatus s) {
  switch (s) {
    case OcspStatus::good: return "good";
    case OcspStatus::revoked: return "revoked";
    case OcspStatus::unknown: return "unknown";
  }
  return "unknown";
}

std::vector<std::string> ocsp_responder_urls(X509* leaf) {
  std::vector<std::string> urls;
  STACK_OF(OPENSSL_STRING)* list = X509_get1_ocsp(leaf);
  for (int i = 0; i < sk_OPENSSL_STRING_num(list); ++i) urls.emplace_back(sk_OPENSSL_STRING_value(list, i));
  X509_email_free(list);  // frees an OPENSSL_STRING stack, whatever its name says
  return urls;
}

const std::string& responder_to_ask(const std::string& url, const std::map<std::string, std::string>& overrides) {
  auto it = overrides.find(url);
  return it == overrides.end() ? url : it->second;
}

X509* find_issuer(X509* leaf, STACK_OF(X509)* chain) {
  for (int i = 0; chain && i < sk_X509_num(chain); ++i)
    if (X509_check_issued(sk_X509_value(chain, i), leaf) == X509_V_OK) return sk_X509_value(chain, i);
  return nullptr;
}

std::optional<OcspAnswer> check_ocsp_response(const std::string& der, X509* leaf, X509* issuer,
                                              WallClock::time_point now, std::string& why) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) {
    why = "the responder's answer is not an OCSP response (" + take_errors() + ")";
    return std::nullopt;
  }
  if (const int rs = OCSP_response_status(resp.get()); rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    why = std::string("the responder refused: ") + OCSP_response_status_str(rs);
    return std::nullopt;
  }
  OcspBasicPtr basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) {
    why = "the OCSP response has no basic response (" + take_errors() + ")";
    return std::nullopt;
  }
  // The issuer is trusted as it stands (it may be an intermediate); the
  // signer is the issuer itself or a responder it certified for OCSP.
  StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), issuer);
  X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
  std::unique_ptr<STACK_OF(X509), StackFree> certs(sk_X509_new_null());
  sk_X509_push(certs.get(), issuer);
  if (OCSP_basic_verify(basic.get(), certs.get(), store.get(), 0) != 1) {
    why = "the OCSP response is not signed for this certificate's issuer (" + take_errors() + ")";
    return std::nullopt;
  }
  OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), leaf, issuer));
  int status = 0, reason = 0;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at, &this_update, &next_update) != 1) {
    take_errors();
    why = "the OCSP response says nothing about this certificate";
    return std::nullopt;
  }
  // Five minutes of clock skew either way, as OpenSSL's own client allows.
  const long skew = 300;
  const std::time_t at = WallClock::to_time_t(now);
  ASN1_GENERALIZEDTIME* check_this = ASN1_GENERALIZEDTIME_adj(nullptr, at, 0, skew);
  ASN1_GENERALIZEDTIME* check_next = ASN1_GENERALIZEDTIME_adj(nullptr, at, 0, -skew);
  const bool future = ASN1_TIME_compare(this_update, check_this) > 0;
  const bool stale = next_update && ASN1_TIME_compare(next_update, check_next) < 0;
  ASN1_GENERALIZEDTIME_free(check_this);
  ASN1_GENERALIZEDTIME_free(check_next);
  if (future || stale) {
    why = future ? "the OCSP response's thisUpdate is in the future" : "the OCSP response's nextUpdate has passed";
    return std::nullopt;
  }
  OcspAnswer answer;
  answer.der = der;
  answer.status = status == V_OCSP_CERTSTATUS_GOOD      ? OcspStatus::good
                  : status == V_OCSP_CERTSTATUS_REVOKED ? OcspStatus::revoked
                                                        : OcspStatus::unknown;
  answer.this_update = to_time(this_update).value_or(now);
  answer.next_update = to_time(next_update);
  return answer;
}

std::optional<OcspAnswer> fetch_ocsp(X509* leaf, X509* issuer, const config::HttpUrl& url, std::string& why) {
  OcspRequestPtr req(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
  if (!req || !id || !OCSP_request_add0_id(req.get(), id)) {
    OCSP_CERTID_free(id);
    why = "cannot build the OCSP request (" + take_errors() + ")";
    return std::nullopt;
  }
  BioPtr body(BIO_new(BIO_s_mem()));
  if (i2d_OCSP_REQUEST_bio(body.get(), req.get()) != 1) {
    why = "cannot encode the OCSP request (" + take_errors() + ")";
    return std::nullopt;
  }
  // proxy "": straight to the responder, whatever http_proxy says.
  BioPtr answer(OSSL_HTTP_transfer(nullptr, url.host.c_str(), url.port.c_str(), url.path.c_str(), 0, "", nullptr,
                                   nullptr, nullptr, nullptr, nullptr, 0, nullptr, "application/ocsp-request",
                                   body.get(), nullptr, 1, kOcspMaxResponse,
                                   static_cast<int>(kOcspTimeout.count()), 0));
  if (!answer) {
    why = "HTTP exchange failed: " + take_errors();
    return std::nullopt;
  }
  std::string der;
  char buf[4096];
  for (int n; (n = BIO_read(answer.get(), buf, sizeof buf)) > 0;) der.append(buf, static_cast<std::size_t>(n));
  return check_ocsp_response(der, leaf, issuer, WallClock::now(), why);
}

}  // namespace snigate::tls
