#pragma once
// The storage file in Traefik's acme.json layout, so that one file serves
// either: a key per resolver holding its Account (Email, Registration,
// PrivateKey as base64 of PKCS#1 DER, KeyType) and its Certificates (domain
// {main, sans}, certificate and key as base64 of PEM, Store). Other
// resolvers' entries, and keys snigate does not know, are written back as read.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace snigate::acme {

struct StoredAccount {
  std::string email;
  std::string registration_uri;   // Registration.uri: the account URL (the JWS kid)
  std::string registration_body;  // Registration.body as JSON text
  std::string key_der;            // the RSA key, PKCS#1 DER
  std::string key_type;           // the certificates' key type when it was made
};

struct StoredCert {
  std::string main;
  std::vector<std::string> sans;
  std::string cert_pem;  // leaf then chain
  std::string key_pem;
  std::string store = "default";
};

struct ResolverState {
  std::optional<StoredAccount> account;
  std::vector<StoredCert> certs;
};

// The resolver's entry from the text of a storage file (empty text: none);
// error names where in it the layout breaks, after `source`.
bool parse_storage(std::string_view text, const std::string& source, const std::string& resolver, ResolverState& out,
                   std::string& error);

// The resolver's entry as JSON text, as write_storage writes it.
std::string storage_entry_json(const ResolverState& state);

// A missing file is an empty state, not an error. A file that is not JSON, or
// whose resolver entry is not in the layout above, is an error naming the file.
bool read_storage(const std::string& path, const std::string& resolver, ResolverState& out, std::string& error);

// Rewrites the resolver's entry: a temporary file in the same directory, mode
// 0600, synced and renamed over the old one, so a crash leaves one or the other.
bool write_storage(const std::string& path, const std::string& resolver, const ResolverState& state,
                   std::string& error);

}  // namespace snigate::acme
