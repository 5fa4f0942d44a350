#pragma once
// What snigate answers an SMTP client before it starts TLS (RFC 5321, 3207):
// its own EHLO reply offering STARTTLS, NOOP and RSET, and a refusal of
// everything that needs the server, until the client sends STARTTLS (then
// the name in its ClientHello routes it) or, where a plain router may take
// it, starts a transaction without TLS. A pure state machine: one line in,
// one decision out; session/smtp_driver.cpp does the reading and writing.
#include <cstdint>
#include <string>
#include <string_view>

namespace snigate::session::smtp {

// RFC 5321 4.5.3.1.4: a command line is at most 512 bytes with its CRLF.
constexpr std::size_t kMaxCommandLine = 512;
// Commands snigate cannot take (500, 501, 503, 530) before it closes with 421.
constexpr int kMaxErrors = 10;

struct Greeter {
  std::string host;           // the name snigate's greeting and EHLO reply give
  bool plain_routes = false;  // a router here takes clients that never start TLS
  std::string verb;           // "EHLO" or "HELO" as the client last greeted; "" before it did
  std::string client_name;    // that command's argument, which the server gets too
  int errors = 0;
};

enum class Next : std::uint8_t {
  reply,        // send reply, read the next command
  starttls,     // send reply (220), then the client's ClientHello follows
  route_plain,  // no reply: the line is the server's, route the client as plain
  quit,         // send reply (221), then close
  close,        // send reply (421): too many errors
};

struct Answer {
  Next next = Next::reply;
  std::string reply;  // whole reply lines, CRLF included
};

// The greeting snigate sends on accept.
std::string greeting(const Greeter& g);

// The answer to one command line (without its line end).
Answer answer(Greeter& g, std::string_view line);

}  // namespace snigate::session::smtp
