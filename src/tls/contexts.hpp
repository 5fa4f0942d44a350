#pragma once
// SSL_CTX for each tls.options entry (client-facing) and for each
// serversTransport (backend-facing), built once per Snapshot.
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "tls/openssl.hpp"

namespace snigate::tls {

struct ServerOptions {
  std::string name;
  SslCtxPtr ctx;
  bool sni_strict = false;
  std::string alpn_wire;  // alpnProtocols as length-prefixed list, in preference order
};

struct BackendTls {
  std::string name;
  SslCtxPtr ctx;
  std::string server_name;  // tls.serverName; empty: the client's SNI, else the server's host
  bool verify = true;       // !insecureSkipVerify
};

// On failure returns nullptr and appends messages for the offending keys.
std::shared_ptr<ServerOptions> make_server_options(const config::TlsOptions& opts, std::vector<config::Error>& errors);
std::shared_ptr<BackendTls> make_backend_tls(const config::ServersTransport& st, std::vector<config::Error>& errors);

}  // namespace snigate::tls
