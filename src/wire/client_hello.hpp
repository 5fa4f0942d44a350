#pragma once
// TLS ClientHello parsing for routing: SNI, ALPN, offered versions. The hello
// may span several TLS records and arrive in several reads; parse() is called
// again with more bytes until it says complete. No allocation when the hello
// fits one record; otherwise its fragments are joined in the caller's scratch.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace snigate::wire {

inline constexpr std::size_t kMaxClientHello = 64 * 1024;  // all records, headers included

enum class HelloStatus {
  complete,    // out is filled; out.record_bytes says how much of the input it used
  need_more,   // a valid prefix; read more and call again with all bytes so far
  not_tls,     // the first bytes are not a TLS handshake record
  malformed,   // TLS, but the hello is broken; error says where
  too_large,   // the hello would exceed kMaxClientHello
};

struct ClientHello {
  std::uint16_t record_version = 0;       // from the first record header
  std::uint16_t legacy_version = 0;       // client_version in the hello body
  std::string_view sni;                   // the first host_name; empty if none (not lowercased)
  std::size_t sni_count = 0;              // host_name entries seen (RFC 6066 allows one)
  std::string_view alpn_raw;              // ALPN extension's protocol_name_list, without the length
  std::string_view supported_versions;    // raw list from the supported_versions extension, no length
  bool has_ech = false;                   // encrypted_client_hello extension (0xfe0d) present
  std::size_t record_bytes = 0;           // bytes of input taken by the records that carry the hello

  std::vector<std::string> alpn() const;  // alpn_raw decoded
  bool offers(std::string_view protocol) const;  // in alpn_raw; allocates nothing
  std::uint16_t max_version() const;      // highest offered version (supported_versions or legacy)
};

// data: every byte received so far, from the first. scratch: owned by the
// caller, reused across calls; views in out may point into data or scratch,
// so keep both alive while out is used. error: set for malformed.
HelloStatus parse_client_hello(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& scratch,
                               ClientHello& out, std::string* error = nullptr);

// A complete TLS alert record (fatal), for refusing a client before or instead
// of a handshake. description: e.g. 112 unrecognized_name, 80 internal_error.
std::array<std::uint8_t, 7> tls_alert_record(std::uint8_t description, std::uint16_t version = 0x0303);

std::string_view tls_version_name(std::uint16_t version);  // "TLSv1.3", ...

}  // namespace snigate::wire
