#pragma once
// What one connection's journey carries from step to step. session.cpp reads
// the journey top to bottom; a protocol driver (driver.hpp) fills the opening.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.hpp"
#include "net/relay.hpp"
#include "net/tls_stream.hpp"
#include "observe/log.hpp"
#include "session/snapshot.hpp"
#include "wire/proxy_protocol.hpp"

namespace snigate::session {

// One side of a connection while it is set up (the client's, or snigate's
// own to the server): the socket, TLS once started, and bytes read past the
// last whole message. It owns its socket and stays where it was made until
// the relay takes both sides over, so the TLS stream's view of the socket
// stays valid.
struct Leg {
  explicit Leg(net::tcp::socket s) : sock(std::move(s)) {}
  Leg(const Leg&) = delete;
  Leg& operator=(const Leg&) = delete;

  net::tcp::socket sock;
  std::unique_ptr<net::TlsStream> tls;
  std::vector<std::uint8_t> buf;
};

// What the client said before it could be routed, as its driver's preamble
// found it. The bytes read from the client that are still the server's to
// read wait in the client leg's buf.
struct Opening {
  std::string sni;  // from the ClientHello, lower-cased; "" without TLS or SNI
  std::vector<std::string> alpn;
  // A whole ClientHello is in client.buf and unanswered: the client can read
  // nothing but TLS (an alert, or a handshake snigate makes).
  bool hello_pending = false;
  // The name came from user@host (a database client without SNI); user is
  // what the server sees.
  bool name_from_user = false;
  std::string user;
  std::string name;  // what a database client is routed by: its SNI, or user@host's host (facts.sni views it)
  // The tls.options the client's handshake used when snigate made it before
  // the route was known (database clients): the route must accept them.
  const tls::ServerOptions* handshake_options = nullptr;
  // Set by a driver that had to choose the route to go on (a PostgreSQL
  // client's TLS is passed through or not before snigate reads more).
  const Route* route = nullptr;
  // A tcp entry point's driver found another protocol's client (PostgreSQL)
  // and hands the connection over after its preamble.
  bool hand_to_postgres = false;
};

struct Conn {
  Leg client;
  const Snapshot& snap;
  const EntryRoutes& entry;
  std::shared_ptr<const Snapshot> snapshot;  // snap, held by the relay once the journey has returned
  net::Clock::time_point hello_deadline;     // accept + clientHelloTimeout: the opening done by then
  observe::AccessRecord rec;
  Facts facts;  // what routing matches on
  Opening open;
  bool relayed = false;  // the relay took the connection over and finishes it
  // Whatever must live exactly as long as the connection (a PostgreSQL
  // session's cancel key registration, a MySQL session's id).
  std::shared_ptr<void> held;
  // The in-flight slots the route's middlewares took (inFlightConn): given
  // back when the last holder goes, the relay's callback once it runs.
  std::shared_ptr<std::vector<policy::InFlightTicket>> tickets;
  // What the relay runs the client's bytes through (MySQL's KILL translation).
  std::unique_ptr<net::UpFilter> up_filter;
  // The client's port, with facts.client_ip its address: a trusted PROXY
  // header's source when one came (session/proxy_in), else the peer's.
  std::uint16_t client_port = 0;
  // Where that trusted header says the client connected to; unset: the
  // client connected to snigate itself (the socket's local address).
  std::optional<wire::proxy::Address> client_dst;
};

inline net::Duration left(net::Clock::time_point deadline) {
  return std::max(net::Duration(0), std::chrono::duration_cast<net::Duration>(deadline - net::Clock::now()));
}

// A database client's routing name (its SNI, or user@host's host): kept in
// the opening, matched as the SNI (routers of database entry points are all
// TLS routers; plaintext is a per-router opt-in), logged as the SNI.
inline void set_routing_name(Conn& c, std::string name) {
  c.open.name = std::move(name);
  c.facts.tls = true;
  c.facts.sni = c.open.name;
  c.facts.alpn = c.open.alpn;
  c.rec.sni = c.open.name;
}

// A-Z only, whatever the locale: names on the wire are ASCII (RFC 6066), and
// this runs for every hello.
inline std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

}  // namespace snigate::session
