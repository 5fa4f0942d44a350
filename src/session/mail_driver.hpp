#pragma once
// The driver (driver.hpp) of the mail protocols whose TLS starts inside them:
// `protocol: smtp | imap | pop3` entry points. snigate greets the client
// itself, answers what the protocol asks before TLS, takes the client's
// STARTTLS (STLS) and routes by the SNI of the ClientHello that follows.
//   passthrough: snigate brings the server to the same point (its greeting,
//     the upgrade command, the server's go-ahead) and the client's TLS goes
//     to it untouched, so the client sees the server's own certificate;
//   termination: snigate ends the client's TLS, reads the server's greeting
//     (and upgrades to it when its server is marked tls), and the client's
//     first command after TLS is the server's first;
//   plain: a client that logs in (or, in SMTP, starts a transaction) without
//     TLS goes to a plain router where there is one;
//   by login: a client that sent no SNI, where no router takes one without,
//     has its TLS ended by snigate, which reads its login (IMAP LOGIN, POP3
//     USER, SMTP AUTH) and routes by the login's domain.
// Refusals are the protocol's own (SMTP 421/554, IMAP BYE, POP3 -ERR), said
// inside TLS where the client's handshake is pending and an alert would say
// less. P is what differs by protocol (mail_protocols.hpp). See docs/mail.md.
#include <cstdint>
#include <span>
#include <string>

#include "session/driver.hpp"
#include "session/mail_protocols.hpp"

namespace snigate::session {

template <class P>
struct MailDriver {
  net::awaitable<Refused> preamble(Conn& c);
  Refused admit(Conn& c, const Route& r);
  std::span<const std::uint8_t> first_bytes(Conn&, const Route&) { return {}; }
  net::awaitable<Refused> open_server(Conn& c, const Route& r, Upstream& up);
  net::awaitable<void> speak(Conn& c, const Refusal& r);

  P proto;
  bool passthrough = false;   // the route passes the client's TLS to the server
  bool client_waits = false;  // snigate read a command the server is to answer
  bool upgrading = false;     // the client has the go-ahead for TLS: it reads nothing but TLS now

 private:
  net::awaitable<Refused> take_tls(Conn& c);
  Refused by_login(Conn& c, const std::string& user);
};

using SmtpDriver = MailDriver<mail::Smtp>;
using ImapDriver = MailDriver<mail::Imap>;
using Pop3Driver = MailDriver<mail::Pop3>;

static_assert(Driver<SmtpDriver> && Driver<ImapDriver> && Driver<Pop3Driver>);

}  // namespace snigate::session
