#pragma once
// The PROXY protocol header snigate sends a server whose service asks for one
// (serversTransport proxyProtocol, or the deprecated loadBalancer's):
// docs/proxy-protocol.md.
#include <cstdint>
#include <vector>

#include "session/conn.hpp"

namespace snigate::session {

// The header for this connection to a server of svc; empty when svc sends
// none. Source: the client (as a trusted PROXY header gave it). Destination:
// where the client connected to. Version 2 adds the name the client asked
// for (PP2_TYPE_AUTHORITY) and, when snigate terminated its TLS, the ALPN and
// PP2_TYPE_SSL.
std::vector<std::uint8_t> proxy_preface(const Conn& c, const Service& svc);

// The header of that version (1 or 2) for this connection.
std::vector<std::uint8_t> proxy_header(const Conn& c, int version);

}  // namespace snigate::session
