#pragma once
// What the greeters of the mail protocols (smtp_greeter, imap_greeter,
// pop3_greeter) decide for each line a client sends before STARTTLS: a pure
// step, one line in, one decision out. session/mail_driver does the reading
// and writing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace snigate::session::mail {

// Commands snigate cannot take before it closes the connection.
constexpr int kMaxErrors = 10;

enum class Next : std::uint8_t {
  reply,        // send reply, read the next command
  starttls,     // send reply, then the client's ClientHello follows
  route_plain,  // no reply: the line is the server's, route the client as plain
  route_login,  // no reply: the line is the server's, route by the domain of login
  quit,         // send reply, then close
  close,        // send reply: too many errors, or a command that cannot go on
};

struct Answer {
  Answer(Next n = Next::reply, std::string r = {}, std::string user = {})
      : next(n), reply(std::move(r)), login(std::move(user)) {}

  Next next = Next::reply;
  std::string reply;  // whole lines, CRLF included
  std::string login;  // route_login: the user name the client logs in with
};

// The answer that routes by a login: the client sent no SNI, so snigate
// ended its TLS to read the login (the greeter's after_tls).
inline Answer route_by(std::string user) { return {Next::route_login, {}, std::move(user)}; }

// What every greeter knows of where it runs.
struct Where {
  std::string host;           // the name in snigate's greeting (mail.hostname)
  bool plain_routes = false;  // a router here takes clients that never start TLS
};

// text with every byte that is not printable ASCII as '?', cut to at most max
// bytes: a name the client sent cannot end an answer early or start a line.
std::string printable_line(std::string_view text, std::size_t max);

}  // namespace snigate::session::mail
