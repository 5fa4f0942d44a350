#pragma once
// The SMTP driver (driver.hpp) for `protocol: smtp` entry points: snigate
// greets the client itself, answers EHLO offering STARTTLS, takes the
// client's STARTTLS and routes by the SNI of the ClientHello that follows.
// Passthrough: snigate brings the server to the same point (its greeting,
// EHLO, STARTTLS, 220) and the client's TLS goes to it untouched.
// Termination: snigate ends the client's TLS and the client's own EHLO,
// after TLS, is the server's first command. A client that starts a
// transaction without TLS goes to a plain router if there is one (snigate
// sends the server the client's EHLO first). Refusals are SMTP replies. See
// docs/mail.md.
#include <cstdint>
#include <span>
#include <string>

#include "session/driver.hpp"
#include "session/smtp_greeter.hpp"

namespace snigate::session {

struct SmtpDriver {
  net::awaitable<Refused> preamble(Conn& c);
  Refused admit(Conn& c, const Route& r);
  std::span<const std::uint8_t> first_bytes(Conn&, const Route&) { return {}; }
  net::awaitable<Refused> open_server(Conn& c, const Route& r, Upstream& up);
  net::awaitable<void> speak(Conn& c, const Refusal& r);

  smtp::Greeter greeter;
  bool passthrough = false;  // the route passes the client's TLS to the server

 private:
  net::awaitable<Refused> take_starttls(Conn& c);
  net::awaitable<Refused> server_starttls(const Route& r, Upstream& up);
};

// The name snigate's mail greetings give: mail.hostname, else the machine's.
std::string mail_hostname(const config::EntryPoint& ep);

static_assert(Driver<SmtpDriver>);

}  // namespace snigate::session
