#pragma once
// The keys and signatures ACME needs, through OpenSSL: the account key and
// its JWK, JWS in flattened JSON (RFC 7515, RFC 8555 6.2), certificate keys of
// Traefik's key types, and the CSR that finalizes an order.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/openssl.hpp"

namespace snigate::acme {

std::string base64url(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// keyType: EC256, EC384, RSA2048, RSA4096, RSA8192. nullptr for another name.
tls::PkeyPtr generate_key(std::string_view key_type);

// Account keys are RSA, as Traefik's acme.json keeps them: PKCS#1 DER.
std::string rsa_key_der(EVP_PKEY* key);
tls::PkeyPtr rsa_key_from_der(std::string_view der);

std::string key_pem(EVP_PKEY* key);  // traditional PEM ("RSA/EC PRIVATE KEY"), as Traefik writes it

// The public JWK with its members in lexicographic order, which is also the
// form its RFC 7638 thumbprint hashes.
std::string jwk_json(EVP_PKEY* key);
std::string jwk_thumbprint(EVP_PKEY* key);

// A JWS signed RS256 with key: {"protected","payload","signature"}. payload
// empty: POST-as-GET. header_json is the protected header as JSON.
std::string sign_jws(EVP_PKEY* key, const std::string& header_json, const std::string& payload);

// The externalAccountBinding of RFC 8555 7.3.4: the account JWK signed HS256
// with the CA's key (hmac: its bytes, decoded).
std::string eab_jws(const std::string& kid, const std::string& hmac, const std::string& account_jwk,
                    const std::string& new_account_url);

// A DER CSR for names (the first is also the CN), signed with key.
std::string make_csr(EVP_PKEY* key, const std::vector<std::string>& names);

std::string sha256(std::string_view bytes);

}  // namespace snigate::acme
