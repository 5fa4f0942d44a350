#include "session/tls_driver.hpp"

#include "net/linger.hpp"
#include "session/acme_answer.hpp"
#include "session/client_tls.hpp"
#include "session/pg_driver.hpp"
#include "session/sniff.hpp"

namespace snigate::session {

using net::awaitable;

namespace {

Refused plain(Conn& c) {
  c.facts.tls = false;
  c.rec.mode = "plain";
  return std::nullopt;
}

}  // namespace

awaitable<Refused> TlsDriver::preamble(Conn& c) {
  const config::EntryPoint& ep = c.entry.ep;
  if (c.entry.server_first) co_return plain(c);
  // A silent client on an entry point that also has plain routers is taken to
  // be a server-first protocol (MySQL, SMTP): it gets the plain catch-all.
  // With TLS routers only, the first byte has the same deadline as the whole
  // hello, so there is nothing to peek for: read the hello at once.
  if (c.entry.has_plain_routes) {
    switch (co_await wait_first_byte(c.client.sock, std::min(ep.first_byte_timeout, left(c.hello_deadline)))) {
      case FirstByte::arrived: break;
      case FirstByte::closed: co_return client_gone("the client closed before sending anything");
      case FirstByte::silent: co_return plain(c);
    }
  }
  Sniffed s;
  co_await read_client_hello(c.client.sock, left(c.hello_deadline), s);
  c.client.buf = std::move(s.bytes);
  if (s.timed_out || (s.status != wire::HelloStatus::complete && s.status != wire::HelloStatus::not_tls)) {
    s.bytes = std::move(c.client.buf);
    co_return hello_refusal(s, ep.client_hello_timeout, false);
  }
  if (s.status == wire::HelloStatus::not_tls) {
    if (c.entry.acme_http)
      if (Refused r = co_await answer_http01(c)) co_return r;
    // Every PostgreSQL startup packet starts with a zero byte (its length is
    // below 2^24); no TLS record and no text protocol does.
    c.open.hand_to_postgres = c.client.buf[0] == 0;
    co_return plain(c);
  }
  note_hello(c, s.hello);
  if (Refused r = co_await answer_tls_alpn(c)) co_return r;
  c.open.hand_to_postgres = offers_postgresql(s.hello);
  co_return std::nullopt;
}

Refused TlsDriver::admit(Conn& c, const Route& r) {
  c.rec.mode = r.passthrough ? "passthrough" : r.tls ? "terminate" : "plain";
  return std::nullopt;
}

std::span<const std::uint8_t> TlsDriver::first_bytes(Conn& c, const Route&) { return c.client.buf; }

awaitable<Refused> TlsDriver::open_server(Conn& c, const Route& r, Upstream& up) {
  if (!up.server->tls) co_return std::nullopt;
  co_return co_await secure_server(r, up, c.open.sni);
}

awaitable<void> TlsDriver::speak(Conn& c, const Refusal& r) {
  if (r.cause == Cause::silent || r.cause == Cause::timeout) co_return;
  // A terminated client gets close_notify; one still in its handshake, an
  // alert; a plain client, the close.
  if (c.client.tls) co_await net::close_after_reply(c.client.sock, c.client.tls.get());
  else if (c.open.hello_pending || r.cause == Cause::bad_hello) co_await send_alert(c.client.sock, alert_for(r.cause));
}

}  // namespace snigate::session
