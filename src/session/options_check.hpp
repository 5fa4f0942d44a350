#pragma once
// A database client that sends no SNI is terminated before snigate can know
// its router (user@host comes inside TLS), so its handshake uses the default
// tls.options. The route chosen afterwards may ask for more: a client
// certificate, a higher minimum version, other ciphers. Such a route must
// never be reached over a handshake that did not enforce them.
#include <string>

#include "session/conn.hpp"

namespace snigate::session {

// Empty when route r may be reached over the client's TLS handshake (or the
// client has none, or its handshake used r's own tls.options); otherwise the
// reason, naming the router and both sets of options, for the log.
std::string options_mismatch(const Conn& c, const Route& r);

}  // namespace snigate::session
