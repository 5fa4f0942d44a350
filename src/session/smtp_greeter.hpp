#pragma once
// What snigate answers an SMTP client before it starts TLS (RFC 5321, 3207):
// its own EHLO reply offering STARTTLS, NOOP and RSET, and a refusal of
// everything that needs the server, until the client sends STARTTLS (then
// the name in its ClientHello routes it) or, where a plain router may take
// it, starts a transaction without TLS. A pure state machine: one line in,
// one decision out; session/mail_driver does the reading and writing.
#include <cstddef>
#include <string>
#include <string_view>

#include "session/mail_greeter.hpp"

namespace snigate::session::smtp {

using mail::Answer;
using mail::Next;

// RFC 5321 4.5.3.1.4: a command line is at most 512 bytes with its CRLF.
constexpr std::size_t kMaxCommandLine = 512;

struct Greeter {
  mail::Where at;
  std::string verb;         // "EHLO" or "HELO" as the client last greeted; "" before it did
  std::string client_name;  // that command's argument, which the server gets too
  int errors = 0;           // 500, 501, 503, 530 so far: at mail::kMaxErrors, 421 and close
  // The client sent no SNI and snigate ended its TLS: it offers AUTH, and
  // the login's domain routes the client.
  bool after_tls = false;
  // AUTH PLAIN or AUTH LOGIN without an initial response: snigate sent 334
  // and the next line is the answer. The server must hear the same command
  // (and answer 334) before that line: server_auth says which.
  std::string awaiting;
  std::string server_auth;
};

// snigate ended the client's TLS (the client sent no SNI): the client
// greets again (RFC 3207 4.2) and logs in.
void start_after_tls(Greeter& g);

// The greeting snigate sends on accept.
std::string greeting(const Greeter& g);

// The answer to one command line (without its line end).
Answer answer(Greeter& g, std::string_view line);

}  // namespace snigate::session::smtp
