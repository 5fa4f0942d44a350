// TLS alert record and version names (RFC 8446 6, B.2).
#include "wire/client_hello.hpp"

namespace snigate::wire {

std::array<std::uint8_t, 7> tls_alert_record(std::uint8_t description, std::uint16_t version) {
  constexpr std::uint8_t kAlert = 21, kFatal = 2;
  return {kAlert, static_cast<std::uint8_t>(version >> 8), static_cast<std::uint8_t>(version & 0xff), 0, 2, kFatal,
          description};
}

std::string_view tls_version_name(std::uint16_t version) {
  switch (version) {
    case 0x0300: return "SSLv3";
    case 0x0301: return "TLSv1";
    case 0x0302: return "TLSv1.1";
    case 0x0303: return "TLSv1.2";
    case 0x0304: return "TLSv1.3";
    default: return "unknown";
  }
}

}  // namespace snigate::wire
