#pragma once
// A protocol driver: everything snigate says and reads in one first-contact
// protocol, in one shape, so that the journey (session.cpp) is the same page
// for every protocol. A driver is a plain struct (its state lives for one
// connection) with five members (the concept Driver below checks them):
//
//   net::awaitable<Refused> preamble(Conn& c);
//       What the client says until it can be routed. Fills c.open and
//       c.facts (SNI, ALPN, user@host); bytes still the server's stay in
//       c.client.buf; a client whose TLS ends at snigate has it in
//       c.client.tls. The journey then matches the route.
//   Refused admit(Conn& c, const Route& r);
//       The protocol's own conditions on the chosen route (a database
//       router that requires TLS). The checks every protocol shares are the
//       journey's.
//   std::span<const std::uint8_t> first_bytes(Conn& c, const Route& r);
//       What goes to the server with the connect (a TLS client's hello), or
//       nothing for protocols whose server speaks first.
//   net::awaitable<Refused> open_server(Conn& c, const Route& r, Upstream& up);
//       After the connect: what the protocol says with the server before
//       the relay can start (greeting, TLS upgrade, login).
//   net::awaitable<void> speak(Conn& c, const Refusal& r);
//       A refusal in the client's protocol, then a close. The rule every
//       driver follows: nothing for Cause::silent; a client still in its TLS
//       handshake (c.open.hello_pending) gets an alert (alert_for), unless
//       the driver can end the handshake itself to say more (PostgreSQL on
//       a passthrough route); the server's own words (Refusal::said) go as
//       they are; otherwise the protocol's error with the refusal's message.
//
// A new protocol is one driver file (and its wire/ codec) and one line in
// serve()'s list. docs/architecture.md walks through one.
#include <concepts>
#include <cstdint>
#include <span>

#include "net/asio.hpp"
#include "session/conn.hpp"
#include "session/refusal.hpp"
#include "session/upstream.hpp"

namespace snigate::session {

template <class D>
concept Driver = requires(D d, Conn& c, const Route& r, Upstream& up, const Refusal& refusal) {
  { d.preamble(c) } -> std::same_as<net::awaitable<Refused>>;
  { d.admit(c, r) } -> std::same_as<Refused>;
  { d.first_bytes(c, r) } -> std::same_as<std::span<const std::uint8_t>>;
  { d.open_server(c, r, up) } -> std::same_as<net::awaitable<Refused>>;
  { d.speak(c, refusal) } -> std::same_as<net::awaitable<void>>;
};

}  // namespace snigate::session
