#pragma once
// An RFC 8555 client for one resolver, blocking the ACME thread: the account
// (found or registered), then for a set of names an order, its
// authorizations and challenges, finalize with a CSR, and the certificate with
// its chain. Every request is a JWS with a fresh nonce; badNonce is retried.
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "acme/http.hpp"
#include "acme/storage.hpp"
#include "config/config.hpp"
#include "tls/openssl.hpp"

namespace snigate::acme {

struct Outcome {
  std::optional<StoredCert> cert;  // set on success
  std::string error;               // what failed: the step, and the CA's problem type and detail
  std::chrono::seconds retry_after{0};  // the CA's Retry-After on a refusal (rate limits)
};

class Client {
 public:
  Client(const config::AcmeResolver& resolver, HttpClient http);

  // Takes the stored account, or makes a key and registers one; state.account
  // is set either way, for the caller to save. False with error otherwise.
  bool ensure_account(ResolverState& state, std::string& error);

  // One certificate for names (the first is the CN and domain.main).
  Outcome obtain(const std::vector<std::string>& names);

  // A fleet's instances answer each other's challenges: publish posts a
  // challenge where the others see it (type, name or token, key
  // authorization), unpublish takes it back.
  std::function<bool(const std::string&, const std::string&, const std::string&)> publish;
  std::function<void(const std::string&, const std::string&)> unpublish;

  // The CA no longer knows the account (a test CA restarted): register the
  // same key again on the next ensure_account.
  void forget_account();

 private:
  struct Reply;
  bool load_directory(std::string& error);
  Reply post(const std::string& url, const std::string& payload, bool post_as_get, const std::string& accept = {});
  Reply poll(const std::string& url);
  bool authorize(const std::string& authz_url, std::string& error);
  std::string download(const std::string& url, std::string& error);

  const config::AcmeResolver& res_;
  HttpClient http_;
  std::string new_nonce_, new_account_, new_order_;
  std::string nonce_;
  std::string kid_;
  tls::PkeyPtr account_key_;
  std::string thumbprint_;
};

}  // namespace snigate::acme
