#include "session/client_tls.hpp"

#include <fmt/format.h>

#include "acme/issued.hpp"
#include "net/deadline.hpp"
#include "net/linger.hpp"
#include "session/no_route.hpp"
#include "session/sniff.hpp"

namespace snigate::session {

using net::awaitable;

void note_hello(Conn& c, const wire::ClientHello& hello) {
  c.open.sni = lower_ascii(hello.sni);
  c.open.alpn = hello.alpn();
  c.open.hello_pending = true;
  c.facts.tls = true;
  c.facts.sni = c.open.sni;
  c.facts.alpn = c.open.alpn;
  c.rec.tls = true;
  c.rec.sni = c.open.sni;
  c.rec.alpn = comma_joined(c.open.alpn);
  c.rec.tls_version = std::string(wire::tls_version_name(hello.max_version()));
}

awaitable<Refused> read_hello(Conn& c, bool after_request) {
  Sniffed s;
  co_await read_client_hello(c.client.sock, left(c.hello_deadline), s);
  if (s.timed_out || s.status != wire::HelloStatus::complete)
    co_return hello_refusal(s, c.entry.ep.client_hello_timeout, after_request);
  c.client.buf = std::move(s.bytes);
  note_hello(c, s.hello);
  co_return std::nullopt;
}

std::uint8_t alert_for(Cause cause) {
  switch (cause) {
    case Cause::bad_hello: return 50;      // decode_error
    case Cause::unknown_name: return 112;  // unrecognized_name
    case Cause::no_protocol: return 120;   // no_application_protocol
    case Cause::not_allowed:
    case Cause::too_many: return 49;       // access_denied
    default: return 80;                    // internal_error
  }
}

awaitable<void> send_alert(net::tcp::socket& sock, std::uint8_t description) {
  const auto rec = wire::tls_alert_record(description);
  co_await net::within(net::Duration(1000), asio::async_write(sock, asio::buffer(rec), net::nothrow));
  co_await net::close_after_reply(sock, nullptr);
}

tls::SslPtr terminating_ssl(const Snapshot& snap, const tls::ServerOptions& options, std::string_view sni,
                            std::string& why) {
  tls::CertChoice choice = snap.certs.select(sni);
  // A name without a certificate of its own in the configuration may have one from ACME.
  std::shared_ptr<const tls::Cert> issued;
  if (choice.how == tls::CertMatch::fallback && (issued = acme::issued().find(sni)))
    choice = {issued.get(), tls::CertMatch::exact};
  if (options.sni_strict && choice.how == tls::CertMatch::fallback) {
    why = fmt::format("sniStrict is set and no certificate names {}",
                      sni.empty() ? "(no SNI sent)" : "\"" + std::string(sni) + "\"");
    return nullptr;
  }
  SSL_CTX* with_cert = options.ctx_for(*choice.cert);
  tls::SslPtr ssl(SSL_new(with_cert ? with_cert : options.ctx.get()));
  if (!with_cert) tls::use_cert(ssl.get(), *choice.cert);
  SSL_set_accept_state(ssl.get());
  return ssl;
}

namespace {

// A verifying client that stops at the certificate usually got the default
// one: say so, since the client's own message rarely reaches the operator.
std::string default_cert_note(const Snapshot& snap, std::string_view sni) {
  const tls::CertChoice choice = snap.certs.select(sni);
  if (choice.how != tls::CertMatch::fallback || !choice.cert || acme::issued().find(sni)) return {};
  return sni.empty()
             ? fmt::format("; the client sent no SNI, so it got the default certificate ({})", choice.cert->origin)
             : fmt::format("; no certificate names \"{}\", so the client got the default certificate ({})", sni,
                           choice.cert->origin);
}

Refusal handshake_refusal(const Conn& c, std::string_view router, bool late) {
  const std::string what =
      late ? fmt::format("TLS handshake not done within clientHelloTimeout ({} ms from accept)",
                         c.entry.ep.client_hello_timeout.count())
           : "TLS handshake with the client failed: " + c.client.tls->error() + default_cert_note(c.snap, c.open.sni);
  Refusal r(Cause::silent, late ? "timeout" : "tls_handshake_failed", what);
  r.detail = fmt::format("router {}: {}", router.empty() ? "(none yet)" : router, what);
  return r;
}

}  // namespace

awaitable<bool> client_handshake(Conn& c, tls::SslPtr ssl, bool& timed_out) {
  c.open.hello_pending = false;
  c.client.tls = std::make_unique<net::TlsStream>(c.client.sock, std::move(ssl), std::move(c.client.buf));
  c.client.buf.clear();
  net::SocketDeadline deadline(c.client.sock, left(c.hello_deadline));
  const bool done = co_await c.client.tls->handshake(c.client.sock);
  co_await deadline.disarm();
  timed_out = deadline.fired();
  co_return done;
}

awaitable<Refused> secure_client(Conn& c, const tls::ServerOptions& options, std::string_view router) {
  std::string why;
  tls::SslPtr ssl = terminating_ssl(c.snap, options, c.open.sni, why);
  if (!ssl) co_return Refusal{Cause::unknown_name, "no_certificate", why};
  bool timed_out = false;
  const bool done = co_await client_handshake(c, std::move(ssl), timed_out);
  if (!done) co_return handshake_refusal(c, router, timed_out);
  SSL* ssl_now = c.client.tls->ssl();
  c.rec.tls_version = SSL_get_version(ssl_now);
  const unsigned char* proto = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_now, &proto, &len);
  c.rec.alpn_chosen.assign(reinterpret_cast<const char*>(proto), len);
  co_return std::nullopt;
}

awaitable<bool> ready_to_answer(Conn& c, const Refusal& r, bool upgrading) {
  if (r.cause == Cause::silent || r.cause == Cause::finished) co_return false;
  const bool unnamed = r.cause == Cause::unknown_name && c.open.sni.empty();
  const bool tls_only = r.cause == Cause::bad_hello || r.cause == Cause::no_protocol ||
                        (r.cause == Cause::unknown_name && !unnamed) || r.cause == Cause::not_allowed ||
                        r.cause == Cause::too_many;
  if ((c.open.hello_pending && tls_only) || (upgrading && !c.open.hello_pending && !c.client.tls)) {
    if (c.open.hello_pending || r.cause == Cause::bad_hello) co_await send_alert(c.client.sock, alert_for(r.cause));
    co_return false;
  }
  if (!c.open.hello_pending) co_return true;
  // The refusal may come after a dial that used up clientHelloTimeout.
  c.hello_deadline = std::max(c.hello_deadline, net::Clock::now() + net::Duration(2000));
  if (Refused failed = co_await secure_client(c, *c.snap.options.at("default"), c.rec.router)) {
    c.rec.detail += " (the client did not accept snigate's TLS to read this)";
    co_return false;
  }
  co_return true;
}

}  // namespace snigate::session
