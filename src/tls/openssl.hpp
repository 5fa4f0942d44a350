#pragma once
// OpenSSL handles owned by unique_ptr, and the error queue as text.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace snigate::tls {

struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509StackFree { void operator()(STACK_OF(X509)* p) const { sk_X509_pop_free(p, X509_free); } };

using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

// Drains OpenSSL's error queue into one line ("" when empty).
std::string take_errors();

// Reads PEM from a file path, or takes the text itself when it starts with
// "-----BEGIN" (Traefik accepts both). Returns false with a message on failure.
bool read_pem(const std::string& path_or_pem, std::string& pem, std::string& error);

}  // namespace snigate::tls
