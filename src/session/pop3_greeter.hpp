#pragma once
// What snigate answers a POP3 client before STLS (RFC 1939, 2449, 2595): its
// own greeting and CAPA (STLS, and USER where a plain router may take the
// client), NOOP and QUIT, and a refusal of USER, PASS, APOP and AUTH until
// the client has TLS. A pure state machine; session/mail_driver does the
// reading and writing.
#include <cstddef>
#include <string>
#include <string_view>

#include "session/mail_greeter.hpp"

namespace snigate::session::pop3 {

// RFC 2449 4 limits a command to 255 bytes; SASL initial responses (RFC 5034)
// may be longer, so snigate takes up to a response line's 512.
constexpr std::size_t kMaxCommandLine = 512;

struct Greeter {
  mail::Where at;
  int errors = 0;  // -ERR so far: at mail::kMaxErrors, close
  // The client sent no SNI and snigate ended its TLS: its USER's domain
  // routes it.
  bool after_tls = false;
};

std::string greeting(const Greeter& g);

mail::Answer answer(Greeter& g, std::string_view line);

}  // namespace snigate::session::pop3
