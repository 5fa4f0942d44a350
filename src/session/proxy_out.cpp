#include "session/proxy_out.hpp"

#include <openssl/ssl.h>

namespace snigate::session {

namespace proxy = wire::proxy;

namespace {

proxy::Address client_of(const Conn& c) {
  proxy::Address a;
  const IpAddress ip = c.facts.client_ip.value_or(IpAddress{});
  a.ip = ip.bytes;
  a.v4 = ip.v4;
  a.port = c.client_port;
  return a;
}

// Where the client connected to: what a trusted header said, else snigate's
// own address on this connection.
proxy::Address destination_of(const Conn& c) {
  if (c.client_dst) return *c.client_dst;
  std::error_code ec;
  const net::tcp::endpoint local = c.client.sock.local_endpoint(ec);
  if (ec) return {};
  const auto addr = local.address();
  return addr.is_v4() ? proxy::Address::from_v4(addr.to_v4().to_bytes(), local.port())
                      : proxy::Address::from_v6(addr.to_v6().to_bytes(), local.port());
}

// PP2_TYPE_SSL for a client whose TLS snigate terminated.
proxy::Ssl ssl_of(const net::TlsStream& tls) {
  const SSL* ssl = tls.ssl();
  proxy::Ssl out;
  out.client = proxy::kClientSsl;
  if (SSL_get0_peer_certificate(ssl)) out.client |= proxy::kClientCertConn;
  out.verify = static_cast<std::uint32_t>(SSL_get_verify_result(ssl));
  out.version = SSL_get_version(ssl);
  const char* cipher = SSL_get_cipher_name(ssl);
  out.cipher = cipher ? cipher : "";
  return out;
}

}  // namespace

std::vector<std::uint8_t> proxy_preface(const Conn& c, const Service& svc) {
  return svc.proxy_protocol == 0 ? std::vector<std::uint8_t>() : proxy_header(c, svc.proxy_protocol);
}

std::vector<std::uint8_t> proxy_header(const Conn& c, int version) {
  const proxy::Address src = client_of(c);
  const proxy::Address dst = destination_of(c);
  if (version == 1) return proxy::encode_v1(src, dst);
  proxy::Extras extras;
  extras.authority = std::string(c.facts.sni);
  if (c.client.tls) {
    extras.alpn = c.rec.alpn_chosen;
    extras.ssl = ssl_of(*c.client.tls);
  }
  return proxy::encode_v2(src, dst, extras);
}

}  // namespace snigate::session
