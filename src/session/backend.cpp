#include "session/backend.hpp"

#include <fmt/format.h>
#include <openssl/x509v3.h>

#include "net/dial.hpp"

namespace snigate::session {

using net::awaitable;

awaitable<const Server*> connect_service(const Service& svc, net::tcp::socket& sock, std::string& why,
                                         std::span<const std::uint8_t> early, std::size_t* sent) {
  const std::size_t n = svc.servers.size();
  if (n == 0) {
    why = "the service has no servers";
    co_return nullptr;
  }
  const std::size_t first = svc.next.fetch_add(1, std::memory_order_relaxed) % n;
  const auto deadline = net::Clock::now() + svc.dial_timeout;
  for (std::size_t i = 0; i < n; ++i) {
    const Server& server = svc.servers[(first + i) % n];
    // Share what is left of the budget among the servers not yet tried, so
    // one black-holed server cannot use all of it.
    // Rounded up: the first server gets the whole dialTimeout (1000 ms, not
    // the 999 ms left a microsecond after the deadline was set).
    const auto left = std::chrono::ceil<net::Duration>(deadline - net::Clock::now());
    if (left.count() <= 0) {
      why += fmt::format("{}{}: not tried, dialTimeout spent", why.empty() ? "" : "; ", server.address);
      continue;
    }
    const auto budget = std::max(left / static_cast<long>(n - i), std::min(left, net::Duration(1000)));
    sock = net::tcp::socket(sock.get_executor());
    const std::span<const std::uint8_t> plain_first = server.tls ? std::span<const std::uint8_t>() : early;
    const net::Dialed d = co_await net::dial(sock, server.at, budget, plain_first, svc.keep_alive);
    if (!d.ec) {
      if (sent) *sent = d.sent;
      co_return &server;
    }
    why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", server.address,
                       d.ec == asio::error::timed_out ? fmt::format("no answer within {} ms", budget.count()) : d.ec.message());
  }
  co_return nullptr;
}

awaitable<std::unique_ptr<net::TlsStream>> start_backend_tls(const Service& svc, const Server& server,
                                                             net::tcp::socket& sock, std::string_view sni,
                                                             std::string& why) {
  const tls::BackendTls& bt = *svc.backend_tls;
  tls::SslPtr ssl(SSL_new(bt.ctx.get()));
  SSL_set_connect_state(ssl.get());
  std::string name = !bt.server_name.empty() ? bt.server_name : !sni.empty() ? std::string(sni) : server.at.host;
  std::error_code not_ip;
  (void)asio::ip::make_address(name, not_ip);
  const bool is_ip = !not_ip;
  if (!is_ip) SSL_set_tlsext_host_name(ssl.get(), name.c_str());
  if (bt.verify) {
    if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str());
    else SSL_set1_host(ssl.get(), name.c_str());
  }
  auto stream = std::make_unique<net::TlsStream>(sock, std::move(ssl));
  auto ok = co_await net::within(svc.dial_timeout, stream->handshake(sock));
  if (!ok || !*ok) {
    why = !ok ? fmt::format("TLS handshake with {} took longer than {} ms", server.address, svc.dial_timeout.count())
              : fmt::format("TLS handshake with {} (as \"{}\") failed: {}", server.address, name, stream->error());
    if (ok) {
      const long v = SSL_get_verify_result(stream->ssl());
      if (v != X509_V_OK) why += fmt::format(" (certificate: {})", X509_verify_cert_error_string(v));
    }
    co_return nullptr;
  }
  co_return stream;
}

}  // namespace snigate::session
