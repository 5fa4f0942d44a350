#include "tls/contexts.hpp"

#include "tls/cert_store.hpp"
#include "tls/ocsp_staple.hpp"
#include "tls/ticket_keys.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace snigate::tls {
namespace {

struct Named { std::string_view go, ossl; };

// Traefik takes Go's names; OpenSSL has its own.
constexpr std::array kCiphers{
    Named{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    Named{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    Named{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    Named{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    Named{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    Named{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    Named{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    Named{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    Named{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    Named{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    Named{"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    Named{"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    Named{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    Named{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
    Named{"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    Named{"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    Named{"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    Named{"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    Named{"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
};
// TLS 1.3 suites are not configurable in Traefik; accepted and passed on.
constexpr std::array kTls13Ciphers{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"};

constexpr std::array kCurves{
    Named{"CurveP256", "P-256"}, Named{"CurveP384", "P-384"}, Named{"CurveP521", "P-521"},
    Named{"X25519", "X25519"},   Named{"secp256r1", "P-256"}, Named{"secp384r1", "P-384"},
    Named{"secp521r1", "P-521"}, Named{"x25519", "X25519"},
};

int tls_version(std::string_view v) {
  if (v == "VersionTLS10") return TLS1_VERSION;
  if (v == "VersionTLS11") return TLS1_1_VERSION;
  if (v == "VersionTLS12") return TLS1_2_VERSION;
  if (v == "VersionTLS13") return TLS1_3_VERSION;
  return -1;
}

template <std::size_t N>
std::string_view lookup(const std::array<Named, N>& table, std::string_view go) {
  for (const auto& n : table)
    if (n.go == go) return n.ossl;
  return {};
}

// Server preference order, as Go's crypto/tls does. With no protocol in
// common the handshake goes on without ALPN rather than failing: a TCP
// backend rarely cares, and a refusal would break non-HTTP clients. One
// exception: a client that offers "postgresql" (PostgreSQL 17's direct TLS)
// gets it whatever alpnProtocols says, since libpq gives up on a direct TLS
// connection that did not agree to it, and no other protocol can want it.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void* arg) {
  auto pick = [&](std::string_view ours) {
    for (std::size_t i = 0; i < ours.size(); i += 1 + static_cast<unsigned char>(ours[i])) {
      std::string_view want = ours.substr(i + 1, static_cast<unsigned char>(ours[i]));
      for (unsigned j = 0; j < inlen; j += 1 + in[j]) {
        if (j + 1 + in[j] > inlen) break;
        if (std::string_view(reinterpret_cast<const char*>(in + j + 1), in[j]) == want) {
          *out = in + j + 1;
          *outlen = in[j];
          return true;
        }
      }
    }
    return false;
  };
  const auto* opts = static_cast<const ServerOptions*>(arg);
  static constexpr std::string_view kPostgres("\x0apostgresql", 11);
  return pick(opts->alpn_wire) || pick(kPostgres) ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

int accept_any_cert(int, X509_STORE_CTX*) { return 1; }

bool load_cas(SSL_CTX* ctx, const std::vector<std::string>& files, std::string& error) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& f : files) {
    std::string pem;
    if (!read_pem(f, pem, error)) return false;
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    int n = 0;
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, x);
      X509_free(x);
      ++n;
    }
    BIO_free(bio);
    take_errors();
    if (n == 0) {
      error = "no PEM certificate in " + (f.starts_with("-----BEGIN") ? std::string("inline CA") : f);
      return false;
    }
  }
  return true;
}

config::Error err(const config::Loc& loc, std::string path, std::string msg) {
  return config::Error{loc, std::move(path), std::move(msg)};
}

// What a resumed session skips, as bytes: the settings, the client CAs the
// context trusts and its certificate (none: set per SSL). Two contexts that
// differ in any of these must not open each other's tickets.
std::string ticket_identity(const config::TlsOptions& o, SSL_CTX* ctx, const Cert* cert) {
  std::string id;
  auto add = [&id](std::string_view s) {
    id += std::to_string(s.size());
    id += ':';
    id += s;
  };
  auto add_list = [&](const std::vector<std::string>& list) {
    add(std::to_string(list.size()));
    for (const auto& s : list) add(s);
  };
  auto add_x509 = [&](X509* x) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (X509_digest(x, EVP_sha256(), md, &n) == 1) add(std::string_view(reinterpret_cast<const char*>(md), n));
  };
  add(o.name);
  add(o.min_version);
  add(o.max_version);
  add_list(o.cipher_suites);
  add_list(o.curve_preferences);
  add_list(o.alpn_protocols);
  add(o.sni_strict ? "sniStrict" : "");
  add(o.client_auth_type);
  STACK_OF(X509_OBJECT)* trusted = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
  for (int i = 0; i < sk_X509_OBJECT_num(trusted); ++i)
    if (X509* x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(trusted, i))) add_x509(x);
  add(cert ? "cert" : "");
  if (cert) add_x509(cert->leaf.get());
  return id;
}

// What every server context has, whatever its options.
SslCtxPtr new_server_ctx() {
  SslCtxPtr made(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* ctx = made.get();
  // Small idle footprint; no renegotiation (a DoS lever, and TLS 1.3 has none).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // One recv for what the peer sent, not two per record (header, then body):
  // every SSL read is retried until it wants more before snigate waits on
  // the socket, so bytes OpenSSL holds are never left waiting.
  SSL_CTX_set_read_ahead(ctx, 1);
  staple_ocsp_responses(ctx);  // nothing is stapled unless ocsp is configured
  return made;
}

void set_versions(SSL_CTX* ctx, const config::TlsOptions& o, const std::string& path,
                  std::vector<config::Error>& errors) {
  const int min = tls_version(o.min_version);
  if (min < 0) errors.push_back(err(o.loc, path + ".minVersion", "unknown TLS version \"" + o.min_version + "\"; use VersionTLS10..VersionTLS13"));
  else SSL_CTX_set_min_proto_version(ctx, min);
  if (!o.max_version.empty()) {
    const int max = tls_version(o.max_version);
    if (max < 0) errors.push_back(err(o.loc, path + ".maxVersion", "unknown TLS version \"" + o.max_version + "\"; use VersionTLS10..VersionTLS13"));
    else SSL_CTX_set_max_proto_version(ctx, max);
  }
  if (min == TLS1_VERSION || min == TLS1_1_VERSION) SSL_CTX_set_security_level(ctx, 0);  // OpenSSL 3 refuses them otherwise
}

// Go's names in, OpenSSL's lists out: one for TLS 1.2 and below, one for
// TLS 1.3, which OpenSSL sets apart.
void set_cipher_suites(SSL_CTX* ctx, const config::TlsOptions& o, const std::string& path,
                       std::vector<config::Error>& errors) {
  if (o.cipher_suites.empty()) return;
  std::string list, list13;
  for (const auto& c : o.cipher_suites) {
    if (auto ossl = lookup(kCiphers, c); !ossl.empty()) list += (list.empty() ? "" : ":") + std::string(ossl);
    else if (std::find(kTls13Ciphers.begin(), kTls13Ciphers.end(), c) != kTls13Ciphers.end())
      list13 += (list13.empty() ? "" : ":") + c;
    else errors.push_back(err(o.loc, path + ".cipherSuites", "unknown or unsupported cipher suite \"" + c + "\""));
  }
  if (!list.empty() && SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1)
    errors.push_back(err(o.loc, path + ".cipherSuites", "OpenSSL refused the list: " + take_errors()));
  if (!list13.empty() && SSL_CTX_set_ciphersuites(ctx, list13.c_str()) != 1)
    errors.push_back(err(o.loc, path + ".cipherSuites", "OpenSSL refused the TLS 1.3 list: " + take_errors()));
}

void set_curves(SSL_CTX* ctx, const config::TlsOptions& o, const std::string& path,
                std::vector<config::Error>& errors) {
  if (o.curve_preferences.empty()) return;
  std::string groups;
  for (const auto& c : o.curve_preferences) {
    // Aliases (CurveP256, secp256r1) may name one group twice, which
    // OpenSSL refuses and Go accepts: keep the first.
    if (auto ossl = lookup(kCurves, c); !ossl.empty()) {
      if ((":" + groups + ":").find(":" + std::string(ossl) + ":") == std::string::npos)
        groups += (groups.empty() ? "" : ":") + std::string(ossl);
    }
    else errors.push_back(err(o.loc, path + ".curvePreferences", "unknown curve \"" + c + "\"; use CurveP256, CurveP384, CurveP521 or X25519"));
  }
  if (!groups.empty() && SSL_CTX_set1_groups_list(ctx, groups.c_str()) != 1)
    errors.push_back(err(o.loc, path + ".curvePreferences", "OpenSSL refused the list: " + take_errors()));
}

// The protocols in ALPN's wire form go to out, which select_alpn reads.
void set_alpn(SSL_CTX* ctx, const config::TlsOptions& o, const std::string& path, ServerOptions& out,
              std::vector<config::Error>& errors) {
  std::string alpn_wire;
  for (const auto& p : o.alpn_protocols) {
    if (p.empty() || p.size() > 255) {
      errors.push_back(err(o.loc, path + ".alpnProtocols", "a protocol name must be 1 to 255 bytes"));
      continue;
    }
    alpn_wire += static_cast<char>(p.size());
    alpn_wire += p;
  }
  out.alpn_wire = alpn_wire;  // the same for every context of out
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, &out);
}

// Traefik's clientAuthType as OpenSSL's verify mode. The types that do not
// verify the chain still ask for a certificate, which accept_any_cert takes.
void set_client_auth(SSL_CTX* ctx, const config::TlsOptions& o, const std::string& path,
                     std::vector<config::Error>& errors) {
  const std::string& t = o.client_auth_type;
  int mode = SSL_VERIFY_NONE;
  bool verify_chain = false;
  if (t == "NoClientCert" || t.empty()) mode = SSL_VERIFY_NONE;
  else if (t == "RequestClientCert") mode = SSL_VERIFY_PEER;
  else if (t == "RequireAnyClientCert") mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  else if (t == "VerifyClientCertIfGiven") mode = SSL_VERIFY_PEER, verify_chain = true;
  else if (t == "RequireAndVerifyClientCert") mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_chain = true;
  else errors.push_back(err(o.loc, path + ".clientAuth.clientAuthType", "unknown value \"" + t + "\""));
  if (verify_chain && o.client_ca_files.empty())
    errors.push_back(err(o.loc, path + ".clientAuth.caFiles", t + " needs at least one CA file"));
  std::string e;
  if (!load_cas(ctx, o.client_ca_files, e)) errors.push_back(err(o.loc, path + ".clientAuth.caFiles", e));
  SSL_CTX_set_verify(ctx, mode, verify_chain ? nullptr : (mode == SSL_VERIFY_NONE ? nullptr : accept_any_cert));
}

// Resumption. One TLS 1.3 ticket per handshake, as Go's TLS (so Traefik)
// sends, not OpenSSL's two: the second serves clients that resume several
// connections at once, and costs every full handshake a ticket to seal, send
// and parse (measured in docs/benchmarks.md). A client can present a ticket
// again, and each resumption brings a new one. Ticket keys outlive a reload
// (ticket_keys.hpp). Off: no tickets, no session-ID cache, so no resumption
// at all, as in Go.
void set_resumption(SSL_CTX* ctx, const config::TlsOptions& o, const Cert* cert) {
  static const unsigned char sid[] = "snigate";
  SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
  if (o.disable_session_tickets) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  } else {
    SSL_CTX_set_num_tickets(ctx, 1);
    seal_tickets_with_shared_keys(ctx, ticket_identity(o, ctx, cert));
  }
}

// A server context with the settings of o, for out (which the ALPN callback
// reads); cert: the certificate the caller will put in it, if any. Appends
// an error for each setting OpenSSL or snigate refuses. The client CAs are
// loaded before resumption, whose ticket identity includes them.
SslCtxPtr server_ctx(const config::TlsOptions& o, ServerOptions& out, std::vector<config::Error>& errors,
                     const Cert* cert = nullptr) {
  const std::string path = "tls.options." + o.name;
  SslCtxPtr made = new_server_ctx();
  SSL_CTX* ctx = made.get();
  set_versions(ctx, o, path, errors);
  set_cipher_suites(ctx, o, path, errors);
  set_curves(ctx, o, path, errors);
  set_alpn(ctx, o, path, out, errors);
  set_client_auth(ctx, o, path, errors);
  set_resumption(ctx, o, cert);
  return made;
}

}  // namespace

std::shared_ptr<ServerOptions> make_server_options(const config::TlsOptions& o, std::vector<config::Error>& errors) {
  const std::size_t before = errors.size();
  auto out = std::make_shared<ServerOptions>();
  out->name = o.name;
  out->sni_strict = o.sni_strict;
  out->ctx = server_ctx(o, *out, errors);
  if (errors.size() != before) return nullptr;
  return out;
}

void add_cert_contexts(ServerOptions& out, const config::TlsOptions& o, const CertStore& store) {
  if (store.certs.size() + 1 > kMaxCertContexts) return;
  auto add = [&](const Cert& cert) {
    std::vector<config::Error> again;  // make_server_options reported them already
    SslCtxPtr ctx = server_ctx(o, out, again, &cert);
    if (!again.empty() || SSL_CTX_use_cert_and_key(ctx.get(), cert.leaf.get(), cert.key.get(), cert.chain.get(), 1) != 1) {
      take_errors();
      return;  // that certificate is set per SSL instead
    }
    out.with_cert.emplace(&cert, std::move(ctx));
  };
  for (const auto& c : store.certs) add(*c);
  if (store.fallback) add(*store.fallback);
}

SSL_CTX* ServerOptions::ctx_for(const Cert& cert) const {
  auto it = with_cert.find(&cert);
  return it == with_cert.end() ? nullptr : it->second.get();
}

std::shared_ptr<BackendTls> make_backend_tls(const config::ServersTransport& st, std::vector<config::Error>& errors) {
  const std::size_t before = errors.size();
  const std::string path = "tcp.serversTransports." + st.name + ".tls";
  auto out = std::make_shared<BackendTls>();
  out->name = st.name;
  out->server_name = st.server_name;
  out->verify = !st.insecure_skip_verify;
  out->ctx.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = out->ctx.get();
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_read_ahead(ctx, 1);  // as for the server contexts
  std::string e;
  if (st.root_cas.empty()) SSL_CTX_set_default_verify_paths(ctx);
  else if (!load_cas(ctx, st.root_cas, e)) errors.push_back(err(st.loc, path + ".rootCAs", e));
  SSL_CTX_set_verify(ctx, out->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!st.certificates.empty()) {
    const auto& c = st.certificates.front();
    auto cert = load_cert(c.cert_file, c.key_file, e);
    if (!cert) errors.push_back(err(c.loc, path + ".certificates[0]", e));
    else if (SSL_CTX_use_certificate(ctx, cert->leaf.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, cert->key.get()) != 1)
      errors.push_back(err(c.loc, path + ".certificates[0]", "OpenSSL refused it: " + take_errors()));
  }
  if (errors.size() != before) return nullptr;
  return out;
}

}  // namespace snigate::tls
