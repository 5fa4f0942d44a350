#pragma once
// A refusal, whatever the protocol: why the connection stops, what the
// client is told and what only the log gets. Steps return one; the journey
// records and logs it in one place, and the protocol's driver says it in the
// client's own words (a TLS alert, a MySQL ERR, a PostgreSQL ErrorResponse).
#include <spdlog/spdlog.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "session/sniff.hpp"

namespace snigate::session {

// What kind of refusal it is; each driver maps it to its protocol's code.
enum class Cause : std::uint8_t {
  silent,         // nothing to tell: the client left, never spoke, or its TLS failed
  finished,       // nothing to tell: the driver finished the connection itself (a cancel request)
  timeout,        // the client took too long
  bad_request,    // the client broke its protocol
  bad_hello,      // the client's ClientHello is malformed or too large
  unknown_name,   // no route, or no certificate, for the name the client sent
  no_protocol,    // the client offers no application protocol this entry point speaks
  denied,         // the route does not take this client (TLS required, TLS options, channel binding)
  not_allowed,    // a middleware's ipAllowList does not hold the client's address
  too_many,       // a middleware's inFlightConn or rateLimit: this address has too many connections
  not_supported,  // the client or server lacks something snigate needs
  unreachable,    // no server answered, or its greeting or TLS failed
  lost,           // the server or the client went wrong during the login
  answered,       // the server refused the client itself: its own words are in said
};

struct Refusal {
  Refusal() = default;
  Refusal(Cause why, std::string ends_as, std::string says, std::string hints = {},
          spdlog::level::level_enum log_level = spdlog::level::info)
      : cause(why), end(std::move(ends_as)), message(std::move(says)), hint(std::move(hints)), level(log_level) {}

  Cause cause = Cause::silent;
  std::string end;      // the access record's end
  std::string message;  // for the client (database drivers put "snigate: " before it)
  std::string hint;     // for the client too, where its protocol has room (else after the message)
  spdlog::level::level_enum level = spdlog::level::info;
  std::string detail;   // for the log when it must say more than message and hint
  std::vector<std::uint8_t> said;  // Cause::answered: the server's refusal, framed as the driver knows
};

// The server refused the client in its own words: said goes to the client.
Refusal answered(std::string end, std::string message, std::vector<std::uint8_t> said);

// What a step returns: the refusal that ends the connection, or nothing when
// it went well (`if (Refused r = co_await step(c)) co_return r;`).
using Refused = std::optional<Refusal>;

// The client closed before it said enough: not worth a log line above debug.
Refusal client_gone(std::string detail);

// A ClientHello read that did not end in a whole, valid one, as a refusal.
// after_request: the client asked for TLS inside its protocol first.
Refusal hello_refusal(const Sniffed& s, std::chrono::milliseconds hello_timeout, bool after_request);

// message, then hint after "; ": for the log, and for protocols without a
// place for hints.
std::string with_hint(const Refusal& r);

}  // namespace snigate::session
