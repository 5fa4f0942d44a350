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
};

// The greeting snigate sends on accept.
std::string greeting(const Greeter& g);

// The answer to one command line (without its line end).
Answer answer(Greeter& g, std::string_view line);

}  // namespace snigate::session::smtp
