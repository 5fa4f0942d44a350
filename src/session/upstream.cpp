#include "session/upstream.hpp"

#include <fmt/format.h>
#include <openssl/x509v3.h>

#include "balance/connect.hpp"
#include "session/proxy_out.hpp"

namespace snigate::session {

using net::awaitable;

awaitable<Refused> connect_server(Conn& c, const Route& r, Upstream& up, std::span<const std::uint8_t> early) {
  const Service& svc = *r.service;
  std::string why;
  // A weighted service's child decides the transport, PROXY header included.
  if (const Service* lb = balance::choose_load_balancer(svc, why)) {
    const Service& chosen = *lb;
    const std::vector<std::uint8_t> preface = proxy_preface(c, chosen);
    up.server = co_await balance::connect_service(chosen, up.leg.sock, why, early, &up.early_sent, preface);
  }
  if (!up.server)
    co_return Refusal{Cause::unreachable, "backend_unreachable",
                      fmt::format("router {}: service {}: no server answered: {}", r.name, svc.name, why), "",
                      spdlog::level::warn};
  c.rec.server = up.server->address;
  co_return std::nullopt;
}

namespace {

tls::SslPtr client_ssl(const tls::BackendTls& bt, const std::string& name, bool is_ip) {
  tls::SslPtr ssl(SSL_new(bt.ctx.get()));
  SSL_set_connect_state(ssl.get());
  if (!is_ip) SSL_set_tlsext_host_name(ssl.get(), name.c_str());
  if (bt.verify) {
    if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str());
    else SSL_set1_host(ssl.get(), name.c_str());
  }
  return ssl;
}

}  // namespace

awaitable<Refused> secure_server(const Route& r, Upstream& up, std::string_view sni) {
  const Server& server = *up.server;
  const Service& svc = server.lb ? *server.lb : *r.service;  // a weighted service's server: its child's transport
  const tls::BackendTls& bt = *svc.backend_tls;
  const std::string name = !bt.server_name.empty() ? bt.server_name : !sni.empty() ? std::string(sni) : server.at.host;
  std::error_code not_ip;
  (void)asio::ip::make_address(name, not_ip);
  up.leg.tls = std::make_unique<net::TlsStream>(up.leg.sock, client_ssl(bt, name, !not_ip));
  auto ok = co_await net::within(svc.dial_timeout, up.leg.tls->handshake(up.leg.sock));
  if (ok && *ok) co_return std::nullopt;
  std::string why =
      !ok ? fmt::format("TLS handshake with {} took longer than {} ms", server.address, svc.dial_timeout.count())
          : fmt::format("TLS handshake with {} (as \"{}\") failed: {}", server.address, name, up.leg.tls->error());
  if (ok) {
    const long v = SSL_get_verify_result(up.leg.tls->ssl());
    if (v != X509_V_OK) why += fmt::format(" (certificate: {})", X509_verify_cert_error_string(v));
  }
  up.leg.tls.reset();
  co_return Refusal{Cause::unreachable, "backend_tls_failed",
                    fmt::format("router {}: service {}: {}", r.name, svc.name, why), "", spdlog::level::warn};
}

}  // namespace snigate::session
