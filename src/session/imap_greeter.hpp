#pragma once
// What snigate answers an IMAP client before STARTTLS (RFC 9051, 3501): its
// own greeting and CAPABILITY (IMAP4rev1, STARTTLS, and LOGINDISABLED unless
// a plain router may take the client), NOOP and LOGOUT, and a refusal of
// LOGIN and AUTHENTICATE until the client has TLS. A pure state machine;
// session/mail_driver does the reading and writing.
#include <cstddef>
#include <string>
#include <string_view>

#include "session/mail_greeter.hpp"

namespace snigate::session::imap {

// RFC 9051 4: servers should take command lines of 8000 bytes or more.
constexpr std::size_t kMaxCommandLine = 8192;

struct Greeter {
  mail::Where at;
  int errors = 0;  // BAD and NO so far: at mail::kMaxErrors, BYE and close
  // The client sent no SNI and snigate ended its TLS: its LOGIN's domain
  // routes it.
  bool after_tls = false;
};

std::string greeting(const Greeter& g);

mail::Answer answer(Greeter& g, std::string_view line);

}  // namespace snigate::session::imap
