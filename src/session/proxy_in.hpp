#pragma once
// A PROXY protocol header in front of the client's bytes, on an entry point
// with proxyProtocol (docs/proxy-protocol.md). Runs in serve() before the
// driver: the header is peeked and then exactly its bytes are taken, so the
// driver's preamble finds the client's own bytes in the socket, untouched.
#include "net/asio.hpp"
#include "session/conn.hpp"
#include "session/refusal.hpp"

namespace snigate::session {

// A trusted peer's header sets the client's address (facts.client_ip,
// client_port, client_dst, rec.client) and keeps the peer's in rec.peer; an
// untrusted peer's header is taken off and ignored, with a warning. A peer
// whose first bytes are no header, or that says nothing within
// firstByteTimeout, is its own client. Refused: a malformed header, or one
// not complete by then.
net::awaitable<Refused> take_proxy_header(Conn& c);

}  // namespace snigate::session
