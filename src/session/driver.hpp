#pragma once
// A protocol driver: everything snigate says and reads in one first-contact
// protocol, in one shape, so that the journey (session.cpp) is the same page
// for every protocol. A driver is a plain struct (its state lives for one
// connection) with four members:
//
//   net::awaitable<Step> preamble(Conn& c);
//       What the client says until it can be routed. Fills c.open and
//       c.facts (SNI, ALPN, user@host); bytes still the server's stay in
//       c.client.buf; a client whose TLS ends at snigate has it in
//       c.client.tls. The journey then matches the route.
//   Step admit(Conn& c, const Route& r);
//       The protocol's own conditions on the chosen route (a database
//       router that requires TLS). The checks every protocol shares are the
//       journey's.
//   std::span<const std::uint8_t> first_bytes(Conn& c, const Route& r);
//       What goes to the server with the connect (a TLS client's hello), or
//       nothing for protocols whose server speaks first.
//   net::awaitable<Step> open_server(Conn& c, const Route& r, Upstream& up);
//       After the connect: what the protocol says with the server before
//       the relay can start (greeting, TLS upgrade, login).
//   net::awaitable<void> speak(Conn& c, const Refusal& r);
//       A refusal in the client's protocol, then a close.
//
// A new protocol is one driver file (and its wire/ codec) and one line in
// serve()'s list. docs/architecture.md walks through one.
#include <cstdint>
#include <span>

#include "net/asio.hpp"
#include "session/conn.hpp"
#include "session/refusal.hpp"
#include "session/upstream.hpp"
