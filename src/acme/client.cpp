#include "acme/client.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <thread>

#include <fmt/ranges.h>
#include <openssl/pem.h>

#include "acme/challenges.hpp"
#include "acme/crypto.hpp"
#include "tls/cert_store.hpp"

namespace snigate::acme {

using nlohmann::json;

namespace {

constexpr int kNonceRetries = 5;
constexpr std::chrono::seconds kPollLimit{120};
constexpr std::chrono::milliseconds kFleetGrace{1000};
constexpr std::string_view kErrorPrefix = "urn:ietf:params:acme:error:";

std::string short_type(std::string type) {
  if (type.starts_with(kErrorPrefix)) type.erase(0, kErrorPrefix.size());
  return type;
}

// "type: detail", with each subproblem's identifier, from a problem document (RFC 7807).
std::string problem_text(const json& p) {
  if (!p.is_object()) return "no problem document";
  std::string text = short_type(p.value("type", std::string("error"))) + ": " + p.value("detail", std::string());
  if (p.contains("subproblems") && p["subproblems"].is_array())
    for (const auto& sub : p["subproblems"]) {
      std::string who = sub.contains("identifier") ? sub["identifier"].value("value", std::string()) : "";
      text += fmt::format("; {}{}", who.empty() ? "" : who + ": ", problem_text(sub));
    }
  return text;
}

// Sleeps in short steps, so that a stop is seen within a quarter second.
bool pause(std::chrono::milliseconds d, const std::atomic<bool>* stop) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
    if (stop && stop->load()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(250),
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now())));
  }
  return !(stop && stop->load());
}

// "https://host:port" of a URL, for telling one CA from another.
std::string origin_of(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto path = url.find('/', scheme + 3);
  return url.substr(0, path);
}

// The issuer CN of a chain's last certificate: what preferredChain names.
std::string top_issuer_cn(const std::string& pem) {
  std::string error;
  std::string last;
  for (std::size_t at = 0; (at = pem.find("-----BEGIN CERTIFICATE-----", at)) != std::string::npos; ++at) last = pem.substr(at);
  BIO* b = BIO_new_mem_buf(last.data(), static_cast<int>(last.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (!x) return {};
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName, cn, sizeof cn);
  X509_free(x);
  return cn;
}

}  // namespace

struct Client::Reply {
  HttpResponse http;
  json body;            // parsed when the CA sent JSON
  std::string problem;  // set when the request failed: transport error or the CA's problem
  bool ok() const { return problem.empty(); }
};

Client::Client(const config::AcmeResolver& resolver, HttpClient http) : res_(resolver), http_(std::move(http)) {}

bool Client::load_directory(std::string& error) {
  if (!new_order_.empty()) return true;
  HttpResponse r = http_exchange(http_, "GET", res_.ca_server);
  json dir = json::parse(r.body, nullptr, false);
  if (r.status != 200 || !dir.is_object() || !dir.contains("newOrder")) {
    error = fmt::format("reading the directory {}: {}", res_.ca_server,
                        r.status ? fmt::format("HTTP {}, not an ACME directory", r.status) : r.error);
    return false;
  }
  new_nonce_ = dir.value("newNonce", std::string());
  new_account_ = dir.value("newAccount", std::string());
  new_order_ = dir.value("newOrder", std::string());
  return true;
}

Client::Reply Client::post(const std::string& url, const std::string& payload, bool post_as_get,
                           const std::string& accept) {
  Reply reply;
  for (int attempt = 0; attempt < kNonceRetries; ++attempt) {
    if (nonce_.empty()) {
      HttpResponse n = http_exchange(http_, "HEAD", new_nonce_);
      nonce_ = n.replay_nonce;
      if (nonce_.empty()) {
        reply.problem = "no nonce from " + new_nonce_ + (n.error.empty() ? "" : ": " + n.error);
        return reply;
      }
    }
    json header{{"alg", "RS256"}, {"nonce", nonce_}, {"url", url}};
    if (kid_.empty()) header["jwk"] = json::parse(jwk_json(account_key_.get()));
    else header["kid"] = kid_;
    nonce_.clear();
    reply.http = http_exchange(http_, "POST", url, sign_jws(account_key_.get(), header.dump(), post_as_get ? "" : payload),
                               accept);
    nonce_ = reply.http.replay_nonce;
    reply.body = json::parse(reply.http.body, nullptr, false);
    if (reply.http.status == 0) {
      reply.problem = reply.http.error;
      return reply;
    }
    if (reply.http.status < 400) {
      reply.problem.clear();
      return reply;
    }
    reply.problem = reply.body.is_object() ? problem_text(reply.body) : fmt::format("HTTP {}", reply.http.status);
    if (!reply.body.is_object() || reply.body.value("type", std::string()) != std::string(kErrorPrefix) + "badNonce")
      return reply;
    spdlog::debug("ACME {}: the CA refused a nonce; again with a fresh one", res_.name);
  }
  return reply;
}

bool Client::ensure_account(ResolverState& state, std::string& error) {
  if (!load_directory(error)) return false;
  if (!account_key_ && state.account && !state.account->key_der.empty()) {
    account_key_ = rsa_key_from_der(state.account->key_der);
    if (!account_key_) {
      error = "the stored account key is not an RSA key in PKCS#1 DER";
      return false;
    }
    kid_ = state.account->registration_uri;
    // An account of another CA (caServer changed since it was stored) means
    // nothing to this one: start a new account, as Traefik does.
    if (!kid_.empty() && origin_of(kid_) != origin_of(res_.ca_server)) {
      spdlog::info("ACME {}: the stored account {} belongs to another CA than {}; registering a new one", res_.name,
                   kid_, res_.ca_server);
      account_key_.reset();
      kid_.clear();
    }
  }
  if (account_key_ && !kid_.empty()) return true;
  if (!account_key_) account_key_ = generate_key("RSA4096");  // Traefik's account keys are RSA 4096
  thumbprint_.clear();
  json payload{{"termsOfServiceAgreed", true}};
  if (!res_.email.empty()) payload["contact"] = json::array({"mailto:" + res_.email});
  if (!res_.eab_kid.empty()) {
    auto hmac = base64url_decode(res_.eab_hmac);
    payload["externalAccountBinding"] =
        json::parse(eab_jws(res_.eab_kid, hmac.value_or(""), jwk_json(account_key_.get()), new_account_));
  }
  kid_.clear();
  Reply r = post(new_account_, payload.dump(), false);
  if (!r.ok() || r.http.location.empty()) {
    error = "registering the account: " + (r.ok() ? "the CA gave no account URL" : r.problem);
    return false;
  }
  kid_ = r.http.location;
  state.account = StoredAccount{res_.email, kid_, r.http.body, rsa_key_der(account_key_.get()), res_.key_type};
  spdlog::info("ACME {}: account {} registered with {}", res_.name, kid_, res_.ca_server);
  return true;
}

// Asks for url again while its status is pending or processing.
Client::Reply Client::poll(const std::string& url) {
  const auto limit = std::chrono::steady_clock::now() + kPollLimit;
  while (true) {
    Reply r = post(url, "", true);
    if (!r.ok()) return r;
    const std::string status = r.body.value("status", std::string());
    if (status != "pending" && status != "processing") return r;
    if (std::chrono::steady_clock::now() > limit) {
      r.problem = fmt::format("still {} after {} s", status, kPollLimit.count());
      return r;
    }
    const auto wait = retry_after_seconds(r.http.retry_after, std::chrono::seconds(1));
    if (!pause(std::min<std::chrono::milliseconds>(wait, std::chrono::seconds(10)), http_.stop)) {
      r.problem = "stopped";
      return r;
    }
  }
}

// Answers one authorization's challenge: posts the answer where the
// listeners find it, tells the CA, and waits for its verdict.
bool Client::authorize(const std::string& authz_url, std::string& error) {
  Reply a = post(authz_url, "", true);
  if (!a.ok()) {
    error = "reading authorization " + authz_url + ": " + a.problem;
    return false;
  }
  const std::string name = a.body.contains("identifier") ? a.body["identifier"].value("value", std::string()) : "";
  if (a.body.value("status", std::string()) == "valid") return true;
  const json challenges = a.body.value("challenges", json::array());
  const json* chosen = nullptr;
  std::vector<std::string> offered;
  for (const auto& type : {"tls-alpn-01", "http-01"}) {
    for (const auto& ch : challenges) {
      if (ch.value("type", std::string()) != type) continue;
      const bool usable = (std::string_view(type) == "tls-alpn-01" && res_.tls_challenge) ||
                          (std::string_view(type) == "http-01" && !res_.http_entry_point.empty());
      if (usable && !chosen) chosen = &ch;
    }
  }
  for (const auto& ch : challenges) offered.push_back(ch.value("type", std::string()));
  if (!chosen) {
    error = fmt::format("{}: the CA offers no challenge this resolver answers (offered: {}; configured: {})", name,
                        fmt::join(offered, ", "),
                        res_.tls_challenge ? (res_.http_entry_point.empty() ? "tls-alpn-01" : "tls-alpn-01, http-01")
                                           : "http-01");
    return false;
  }
  const std::string type = chosen->value("type", std::string());
  const std::string token = chosen->value("token", std::string());
  if (thumbprint_.empty()) thumbprint_ = jwk_thumbprint(account_key_.get());
  const std::string key_auth = token + "." + thumbprint_;
  const std::string id = type == "tls-alpn-01" ? name : token;
  if (type == "tls-alpn-01") board().post_tls_alpn(name, tls_alpn_cert(name, key_auth));
  else board().post_http(token, key_auth);
  // The other instances learn of it through a watch: give that a moment
  // before the CA, which may reach any of them, is told to look.
  if (publish && publish(type, id, key_auth)) pause(kFleetGrace, http_.stop);
  spdlog::info("ACME {}: {}: answering the {} challenge", res_.name, name, type);
  Reply go = post(chosen->value("url", std::string()), "{}", false);
  Reply done = go.ok() ? poll(authz_url) : go;
  board().withdraw(name, token);
  if (unpublish) unpublish(type, id);
  if (!done.ok()) {
    error = fmt::format("{}: {} challenge: {}", name, type, done.problem);
    return false;
  }
  if (done.body.value("status", std::string()) == "valid") {
    spdlog::info("ACME {}: {}: the CA validated the {} challenge", res_.name, name, type);
    return true;
  }
  std::string why = "authorization " + done.body.value("status", std::string("?"));
  const json verdicts = done.body.value("challenges", json::array());
  for (const auto& ch : verdicts)
    if (ch.contains("error")) why = problem_text(ch["error"]);
  error = fmt::format("{}: the CA refused the {} challenge: {}", name, type, why);
  return false;
}

// The chain the CA gives, or with preferredChain the alternate (Link
// rel="alternate") whose top issuer has that CN.
std::string Client::download(const std::string& url, std::string& error) {
  Reply c = post(url, "", true, "application/pem-certificate-chain");
  if (!c.ok()) {
    error = "downloading the certificate: " + c.problem;
    return {};
  }
  if (res_.preferred_chain.empty() || top_issuer_cn(c.http.body) == res_.preferred_chain) return c.http.body;
  for (const std::string& link : c.http.links) {
    if (link.find("rel=\"alternate\"") == std::string::npos) continue;
    const auto lt = link.find('<'), gt = link.find('>');
    if (lt == std::string::npos || gt == std::string::npos || gt < lt) continue;
    Reply alt = post(link.substr(lt + 1, gt - lt - 1), "", true, "application/pem-certificate-chain");
    if (alt.ok() && top_issuer_cn(alt.http.body) == res_.preferred_chain) return alt.http.body;
  }
  spdlog::info("ACME {}: no chain with issuer \"{}\"; keeping the CA's default", res_.name, res_.preferred_chain);
  return c.http.body;
}

Outcome Client::obtain(const std::vector<std::string>& names) {
  Outcome out;
  const std::string names_text = fmt::format("{}", fmt::join(names, ", "));
  json ids = json::array();
  for (const auto& n : names) ids.push_back({{"type", "dns"}, {"value", n}});
  Reply order = post(new_order_, json{{"identifiers", ids}}.dump(), false);
  if (order.ok() && order.http.location.empty()) order.problem = "the CA gave no order URL";
  if (!order.ok()) {
    out.error = "new order for " + names_text + ": " + order.problem;
    out.retry_after = retry_after_seconds(order.http.retry_after, std::chrono::seconds(0));
    return out;
  }
  const std::string order_url = order.http.location;
  spdlog::info("ACME {}: {}: order {} placed", res_.name, names_text, order_url);
  const json authorizations = order.body.value("authorizations", json::array());
  for (const auto& authz : authorizations)
    if (!authorize(authz.get<std::string>(), out.error)) return out;
  tls::PkeyPtr key = generate_key(res_.key_type);
  const std::string csr = make_csr(key.get(), names);
  Reply fin = post(order.body.value("finalize", std::string()), json{{"csr", base64url(csr)}}.dump(), false);
  Reply done = fin.ok() ? poll(order_url) : fin;
  if (done.ok() && done.body.value("status", std::string()) != "valid")
    done.problem = "order " + done.body.value("status", std::string("?")) +
                   (done.body.contains("error") ? ": " + problem_text(done.body["error"]) : "");
  if (!done.ok()) {
    out.error = "finalizing the order for " + names_text + ": " + done.problem;
    return out;
  }
  std::string chain = download(done.body.value("certificate", std::string()), out.error);
  if (chain.empty()) return out;
  StoredCert c;
  c.main = names.front();
  c.sans.assign(names.begin() + 1, names.end());
  c.cert_pem = std::move(chain);
  c.key_pem = key_pem(key.get());
  out.cert = std::move(c);
  return out;
}

void Client::forget_account() { kid_.clear(); }

}  // namespace snigate::acme
