#include "tls/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>

namespace snigate::tls {
namespace {

constexpr int kKept = 3;  // the current period's secret and the two before it

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

struct Secret {
  std::int64_t period = -1;
  std::array<unsigned char, 32> bytes{};
};

struct Ring {
  std::mutex mu;
  std::array<Secret, kKept> secrets;  // slot: period % kKept
};

Ring& ring() {
  static Ring r;
  return r;
}

long (*clock_now)() = nullptr;

std::int64_t period_now() {
  const long t = clock_now ? clock_now() : static_cast<long>(std::time(nullptr));
  return t / kTicketPeriod.count();
}

// Period p's secret into out. The current one is made when first asked for;
// a past one only if still kept. Secrets out of the window are wiped first.
bool secret_of(std::int64_t p, std::int64_t now, unsigned char* out) {
  if (p > now || p <= now - kKept) return false;
  Ring& r = ring();
  std::lock_guard lock(r.mu);
  for (Secret& s : r.secrets)
    if (s.period >= 0 && s.period <= now - kKept) {
      OPENSSL_cleanse(s.bytes.data(), s.bytes.size());
      s.period = -1;
    }
  Secret& s = r.secrets[static_cast<std::size_t>(p % kKept)];
  if (s.period != p) {
    if (p != now || RAND_bytes(s.bytes.data(), static_cast<int>(s.bytes.size())) != 1) return false;
    s.period = p;
  }
  std::memcpy(out, s.bytes.data(), s.bytes.size());
  return true;
}

// A context's keys for one period. The name is what the client sends back:
// the period (8 bytes, big-endian), then a tag of the context's keys, so
// that the right secret is found at once and a stranger's ticket is
// recognised as one.
struct Keys {
  unsigned char name[16];
  unsigned char aes[32];
  unsigned char hmac[32];
};

bool derive(std::int64_t p, std::int64_t now, const Digest& id, Keys& k) {
  unsigned char secret[32];
  if (!secret_of(p, now, secret)) return false;
  unsigned char material[64];
  unsigned char tag[32];
  unsigned int n = 0;
  const unsigned char label[] = "snigate ticket name";
  unsigned char named[sizeof label + SHA256_DIGEST_LENGTH];
  std::memcpy(named, label, sizeof label);
  std::memcpy(named + sizeof label, id.data(), id.size());
  const bool ok = HMAC(EVP_sha512(), secret, sizeof secret, id.data(), id.size(), material, &n) && n == sizeof material &&
                  HMAC(EVP_sha256(), secret, sizeof secret, named, sizeof named, tag, &n) && n == sizeof tag;
  OPENSSL_cleanse(secret, sizeof secret);
  if (!ok) return false;
  for (int i = 0; i < 8; ++i) k.name[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(p) >> (56 - 8 * i));
  std::memcpy(k.name + 8, tag, 8);
  std::memcpy(k.aes, material, 32);
  std::memcpy(k.hmac, material + 32, 32);
  OPENSSL_cleanse(material, sizeof material);
  return true;
}

std::int64_t period_in(const unsigned char* name) {
  std::uint64_t p = 0;
  for (int i = 0; i < 8; ++i) p = p << 8 | name[i];
  return static_cast<std::int64_t>(p);
}

// What a context keeps: the digest of its identity, and its keys for the
// last period it sealed a ticket in, so that a handshake derives nothing
// (deriving takes two HMACs and a lock on the secrets). Lives with
// the context (ex_data), which an SSL keeps alive after a reload has dropped
// the snapshot that made it.
struct ContextTickets {
  Digest id;
  std::mutex mu;  // the workers share the context
  std::int64_t period = -1;
  Keys keys;
  ~ContextTickets() { OPENSSL_cleanse(&keys, sizeof keys); }

  // Period p's keys into k; the cached ones when p is their period.
  bool keys_for(std::int64_t p, std::int64_t now, Keys& k) {
    if (p > now || p <= now - kKept) return false;  // cached or not, out of the window
    std::lock_guard lock(mu);
    if (p != period) {
      if (!derive(p, now, id, k)) return false;
      if (p == now) {  // a new period: cache it (an older one is not cached)
        keys = k;
        period = p;
      }
      return true;
    }
    k = keys;
    return true;
  }
};

int tickets_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr,
                                                    [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
                                                      delete static_cast<ContextTickets*>(ptr);
                                                    });
  return index;
}

const EVP_CIPHER* aes_256_cbc() {
  static EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);  // once, not per ticket
  return fetched;
}

bool init(EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, const Keys& k, const unsigned char* iv, bool seal) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(k.hmac), sizeof k.hmac),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  const int ok = seal ? EVP_EncryptInit_ex(cipher, aes_256_cbc(), nullptr, k.aes, iv)
                      : EVP_DecryptInit_ex(cipher, aes_256_cbc(), nullptr, k.aes, iv);
  return ok == 1 && EVP_MAC_CTX_set_params(mac, params) == 1;
}

// OpenSSL's ticket callback: 1 sealed or opened, 2 opened and to be renewed
// (an older period's key), 0 otherwise: a ticket not ours or expired (a
// full handshake), or nothing to seal with (no ticket this time). Never -1,
// which would fail the handshake: a ticket is worth less than a connection.
// The SSL's context is the one it was made from: snigate picks the context
// before SSL_new and never switches it, so it is also the session context
// whose callback this is.
int on_ticket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int seal) {
  auto* t = static_cast<ContextTickets*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tickets_index()));
  if (!t || !aes_256_cbc()) return 0;
  const std::int64_t now = period_now();
  const std::int64_t p = seal ? now : period_in(name);
  Keys k;
  bool ok = t->keys_for(p, now, k) && (seal || std::memcmp(name, k.name, sizeof k.name) == 0);
  if (ok && seal) {
    std::memcpy(name, k.name, sizeof k.name);
    ok = RAND_bytes(iv, EVP_CIPHER_get_iv_length(aes_256_cbc())) == 1;
  }
  ok = ok && init(cipher, mac, k, iv, seal);
  OPENSSL_cleanse(&k, sizeof k);
  if (!ok) return 0;
  return seal || p == now ? 1 : 2;
}

}  // namespace

void seal_tickets_with_shared_keys(SSL_CTX* ctx, std::string_view identity) {
  auto t = std::make_unique<ContextTickets>();
  SHA256(reinterpret_cast<const unsigned char*>(identity.data()), identity.size(), t->id.data());
  delete static_cast<ContextTickets*>(SSL_CTX_get_ex_data(ctx, tickets_index()));
  SSL_CTX_set_ex_data(ctx, tickets_index(), t.release());
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
}

void set_ticket_clock(long (*now)()) { clock_now = now; }

}  // namespace snigate::tls
