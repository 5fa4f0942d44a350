#include "session/imap_greeter.hpp"

#include "wire/imap.hpp"
#include "wire/mail_login.hpp"
#include "wire/text_line.hpp"

namespace snigate::session::imap {

using mail::Answer;
using mail::Next;

namespace {

std::string capabilities(const Greeter& g) {
  if (g.after_tls) return "IMAP4rev1";  // LOGIN, which names the server
  // LOGINDISABLED (RFC 9051 6.2.3): a client must not send LOGIN before TLS,
  // unless a plain router is there to take it.
  return g.at.plain_routes ? "IMAP4rev1 STARTTLS" : "IMAP4rev1 STARTTLS LOGINDISABLED";
}

Answer error(Greeter& g, std::string_view tag, std::string_view status, std::string_view text) {
  if (++g.errors >= mail::kMaxErrors) return {Next::close, "* BYE " + g.at.host + " too many errors\r\n"};
  return {Next::reply, std::string(tag) + " " + std::string(status) + " " + mail::printable_line(text, 400) + "\r\n"};
}

// After snigate ended the client's TLS, LOGIN's user name names the server.
Answer login(Greeter& g, const wire::ImapCommand& cmd) {
  if (cmd.name == "AUTHENTICATE")
    return error(g, cmd.tag, "NO",
                 "The client sent no SNI, so " + g.at.host + " chooses the server by the domain of the login: use "
                 "LOGIN user@domain");
  const wire::LoginUser u = wire::imap_login_user(cmd.arguments);
  if (!u.error.empty())
    return error(g, cmd.tag, "NO", "Cannot read the user name (" + u.error + "): send it as an atom or a quoted string");
  return mail::route_by(u.user);
}

Answer needs_tls(Greeter& g, const wire::ImapCommand& cmd) {
  if (g.after_tls) return login(g, cmd);
  if (g.at.plain_routes) return {Next::route_plain, {}};
  return error(g, cmd.tag, "NO",
               "[PRIVACYREQUIRED] STARTTLS first: " + g.at.host +
                   " chooses the server by the name the client's TLS sends (SNI), and takes no " + cmd.name +
                   " without TLS");
}

}  // namespace

std::string greeting(const Greeter& g) {
  return "* OK [CAPABILITY " + capabilities(g) + "] " + g.at.host + " ready (snigate)\r\n";
}

Answer answer(Greeter& g, std::string_view line) {
  const wire::ImapCommand cmd = wire::parse_imap_command(line);
  if (!cmd.error.empty()) return error(g, "*", "BAD", cmd.error);
  const std::string tag(cmd.tag);
  // A LITERAL+ literal (never offered here) would follow at once: its bytes
  // cannot be told from the next command, so the connection cannot go on.
  if (cmd.has_literal && cmd.literal_plus)
    return {Next::close, tag + " BAD LITERAL+ is not offered before STARTTLS\r\n* BYE " + g.at.host + "\r\n"};
  const std::string& name = cmd.name;
  if (name == "CAPABILITY")
    return {Next::reply, "* CAPABILITY " + capabilities(g) + "\r\n" + tag + " OK CAPABILITY completed\r\n"};
  if (name == "STARTTLS" && g.after_tls) return error(g, tag, "BAD", "TLS is already active");
  if (name == "STARTTLS") return {Next::starttls, tag + " OK Begin TLS negotiation now\r\n"};
  if (name == "NOOP") return {Next::reply, tag + " OK NOOP completed\r\n"};
  if (name == "LOGOUT") return {Next::quit, "* BYE " + g.at.host + " logging out\r\n" + tag + " OK LOGOUT completed\r\n"};
  if (name == "LOGIN" || name == "AUTHENTICATE") return needs_tls(g, cmd);
  return error(g, tag, "BAD", "Command not recognized before " + std::string(g.after_tls ? "LOGIN: " : "STARTTLS: ") +
                                  name);
}

}  // namespace snigate::session::imap
