#include "session/acme_answer.hpp"

#include <fmt/format.h>

#include "acme/challenges.hpp"
#include "net/deadline.hpp"
#include "net/linger.hpp"
#include "session/client_tls.hpp"
#include "session/text_leg.hpp"
#include "wire/http_request.hpp"

namespace snigate::session {

using net::awaitable;

namespace {

constexpr std::string_view kChallengePath = "/.well-known/acme-challenge/";
constexpr std::size_t kMaxHead = 8192;

int select_acme_tls(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                    void*) {
  static constexpr unsigned char kProto[] = {10, 'a', 'c', 'm', 'e', '-', 't', 'l', 's', '/', '1'};
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, kProto, sizeof kProto, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// RFC 8737 3: TLS 1.2 or later, and acme-tls/1 must be the protocol chosen.
SSL_CTX* acme_tls_ctx() {
  static const tls::SslCtxPtr ctx = [] {
    tls::SslCtxPtr c(SSL_CTX_new(TLS_server_method()));
    SSL_CTX_set_min_proto_version(c.get(), TLS1_2_VERSION);
    SSL_CTX_set_alpn_select_cb(c.get(), select_acme_tls, nullptr);
    return c;
  }();
  return ctx.get();
}

Refusal answered_challenge(std::string detail) {
  Refusal r(Cause::finished, "acme_challenge", "", "", spdlog::level::info);
  r.detail = std::move(detail);
  return r;
}

bool may_be_http(std::string_view bytes) {
  for (std::string_view m : {"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH "})
    if (m.starts_with(bytes.substr(0, m.size())) || bytes.starts_with(m)) return true;
  return false;
}

awaitable<void> reply_http(Conn& c, std::string_view status, std::string_view body) {
  const std::string out = fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
      body.size(), body);
  co_await net::within(net::Duration(2000), asio::async_write(c.client.sock, asio::buffer(out), net::nothrow));
  co_await net::close_after_reply(c.client.sock, nullptr);
}

}  // namespace

awaitable<Refused> answer_tls_alpn(Conn& c) {
  if (!acme::only_acme_tls(c.open.alpn)) co_return std::nullopt;
  auto cert = acme::board().tls_alpn_cert(c.open.sni);
  if (!cert) co_return std::nullopt;  // not pending: the routers decide, as for any client
  c.rec.mode = "acme";
  tls::SslPtr ssl(SSL_new(acme_tls_ctx()));
  tls::use_cert(ssl.get(), *cert);
  SSL_set_accept_state(ssl.get());
  bool timed_out = false;
  const bool done = co_await client_handshake(c, std::move(ssl), timed_out);
  if (done) c.rec.alpn_chosen = "acme-tls/1";
  co_await net::close_after_reply(c.client.sock, c.client.tls.get());
  co_return answered_challenge(
      done ? fmt::format("answered the ACME TLS-ALPN-01 challenge for {}", c.open.sni)
           : fmt::format("ACME TLS-ALPN-01 challenge for {}: the handshake failed: {}", c.open.sni,
                         c.client.tls->error()));
}

awaitable<Refused> answer_http01(Conn& c) {
  if (!may_be_http(as_text(c.client.buf))) co_return std::nullopt;
  // The whole head, as far as it comes before the deadline.
  net::SocketDeadline deadline(c.client.sock, left(c.hello_deadline));
  wire::HttpParseResult head = wire::parse_http_request_head(as_text(c.client.buf), kMaxHead, kMaxHead);
  std::uint8_t chunk[2048];
  while (head.status == wire::HttpParse::need_more && c.client.buf.size() < kMaxHead) {
    auto [ec, n] = co_await c.client.sock.async_read_some(asio::buffer(chunk), net::nothrow);
    if (ec || n == 0) break;
    c.client.buf.insert(c.client.buf.end(), chunk, chunk + n);
    head = wire::parse_http_request_head(as_text(c.client.buf), kMaxHead, kMaxHead);
  }
  co_await deadline.disarm();
  const bool challenge = head.status == wire::HttpParse::complete && head.head.method == "GET" &&
                         head.head.target.starts_with(kChallengePath);
  if (!challenge) {
    if (c.entry.has_plain_routes || head.status != wire::HttpParse::complete) co_return std::nullopt;
    co_await reply_http(c, "404 Not Found", "404 page not found\n");
    co_return answered_challenge(fmt::format("HTTP {} {} on the ACME HTTP-01 entry point: 404 (no plain router here)",
                                             head.head.method, head.head.target));
  }
  const std::string token(head.head.target.substr(kChallengePath.size()));
  if (auto answer = acme::board().http_answer(token)) {
    co_await reply_http(c, "200 OK", *answer);
    co_return answered_challenge(fmt::format("answered the ACME HTTP-01 challenge {}", token));
  }
  co_await reply_http(c, "404 Not Found", "no ACME challenge is pending for this token\n");
  co_return answered_challenge(fmt::format("ACME HTTP-01 request for token {}: none is pending; 404", token));
}

}  // namespace snigate::session
