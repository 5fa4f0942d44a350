#pragma once
// SSL_CTX for each tls.options entry (client-facing) and for each
// serversTransport (backend-facing), built once per Snapshot.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "tls/openssl.hpp"

namespace snigate::tls {

struct Cert;
struct CertStore;

struct ServerOptions {
  std::string name;
  SslCtxPtr ctx;  // no certificate: use_cert() on each SSL
  bool sni_strict = false;
  std::string alpn_wire;  // alpnProtocols as length-prefixed list, in preference order
  // The same settings once more per certificate, with the certificate in the
  // context: a handshake then starts from SSL_new alone instead of installing
  // (and checking) a certificate and key on every SSL.
  std::unordered_map<const Cert*, SslCtxPtr> with_cert;

  SSL_CTX* ctx_for(const Cert& cert) const;  // nullptr: none made for it
};

// Past this many certificates the contexts would cost more memory than the
// handshakes save: certificates are then set per SSL.
inline constexpr std::size_t kMaxCertContexts = 256;

struct BackendTls {
  std::string name;
  SslCtxPtr ctx;
  std::string server_name;  // tls.serverName; empty: the client's SNI, else the server's host
  bool verify = true;       // !insecureSkipVerify
};

// On failure returns nullptr and appends messages for the offending keys.
std::shared_ptr<ServerOptions> make_server_options(const config::TlsOptions& opts, std::vector<config::Error>& errors);
// Fills out.with_cert for every certificate of the store and its fallback.
// opts: what out was made from. A context OpenSSL refuses is left out.
void add_cert_contexts(ServerOptions& out, const config::TlsOptions& opts, const CertStore& store);
std::shared_ptr<BackendTls> make_backend_tls(const config::ServersTransport& st, std::vector<config::Error>& errors);

}  // namespace snigate::tls
