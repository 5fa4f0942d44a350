#include "session/options_check.hpp"

#include <fmt/format.h>

namespace snigate::session {

std::string options_mismatch(const Conn& c, const Route& r) {
  // Options are built once per Snapshot and shared by name, so the same
  // settings are the same object.
  if (!c.open.handshake_options || !r.options || c.open.handshake_options == r.options.get()) return {};
  return fmt::format(
      "router {} requires tls.options \"{}\", but the client's TLS handshake used tls.options \"{}\" because "
      "snigate chose them before it knew the router ({})",
      r.name, r.options->name, c.open.handshake_options->name,
      c.open.sni.empty() ? "the client sent no SNI" : "no router took the client's SNI \"" + c.open.sni + "\"");
}

}  // namespace snigate::session
