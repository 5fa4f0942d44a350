#pragma once
// The XMPP driver (driver.hpp) for `protocol: xmpp` entry points (RFC 6120).
// The client speaks first: its stream header names the domain (to=). snigate
// answers with its own header and features offering only STARTTLS, takes the
// client's <starttls/>, says <proceed/>, and routes by the SNI of the
// ClientHello that follows, or by to= when the client sent no SNI.
// Passthrough: snigate gives the server the client's stream header and takes
// STARTTLS with it, then passes the client's TLS through. Termination: the
// client's new stream header after TLS is the server's first (snigate takes
// STARTTLS with servers marked tls first). Refusals are stream errors. See
// docs/mail.md.
#include <cstdint>
#include <span>
#include <string>

#include "session/driver.hpp"
#include "wire/xmpp.hpp"

namespace snigate::session {

struct XmppDriver {
  net::awaitable<Refused> preamble(Conn& c);
  Refused admit(Conn& c, const Route& r);
  std::span<const std::uint8_t> first_bytes(Conn&, const Route&) { return {}; }
  net::awaitable<Refused> open_server(Conn& c, const Route& r, Upstream& up);
  net::awaitable<void> speak(Conn& c, const Refusal& r);

  std::string header;          // the client's stream header, as sent
  wire::StreamHeader stream;   // what it says
  bool said_header = false;    // snigate has opened its side of the current stream
  bool passthrough = false;
  bool upgrading = false;      // the client has <proceed/>: it reads nothing but TLS now

 private:
  net::awaitable<Refused> server_starttls(const Route& r, Upstream& up);
};

static_assert(Driver<XmppDriver>);

}  // namespace snigate::session
