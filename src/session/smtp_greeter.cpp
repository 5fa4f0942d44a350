#include "session/smtp_greeter.hpp"

#include <array>
#include <algorithm>

#include "wire/smtp.hpp"
#include "wire/text_line.hpp"

namespace snigate::session::smtp {

namespace {

// Commands that need the server (a transaction, a login, an address check):
// refused before STARTTLS unless a plain router may take the client.
constexpr std::array<std::string_view, 10> kServerCommands{"MAIL", "RCPT", "DATA", "BDAT", "AUTH",
                                                          "VRFY", "EXPN", "ETRN", "ATRN", "BURL"};

Answer error(Greeter& g, int code, std::string_view status, std::string_view text) {
  if (++g.errors >= mail::kMaxErrors)
    return {Next::close, wire::smtp_reply(421, "4.7.0", g.at.host + " too many errors, closing the connection")};
  return {Next::reply, wire::smtp_reply(code, status, text)};
}

std::string ehlo_reply(const Greeter& g) {
  // No PIPELINING: nothing may follow STARTTLS before its reply, and the
  // server's own EHLO reply, after TLS, offers what it supports.
  return "250-" + g.at.host + "\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n";
}

Answer needs_tls(Greeter& g, const std::string& verb) {
  if (g.at.plain_routes && !g.verb.empty()) return {Next::route_plain, {}};
  if (g.at.plain_routes) return error(g, 503, "5.5.1", "Send EHLO first");
  return error(g, 530, "5.7.0",
               "Must issue a STARTTLS command first: " + g.at.host +
                   " chooses the server by the name the client's TLS sends (SNI), and takes no " + verb +
                   " without TLS");
}

}  // namespace

std::string greeting(const Greeter& g) { return wire::smtp_reply(220, "", g.at.host + " ESMTP snigate"); }

Answer answer(Greeter& g, std::string_view line) {
  const wire::TextCommand cmd = wire::parse_text_command(line);
  if (!cmd.error.empty()) return error(g, 500, "5.5.2", "Syntax error: " + cmd.error);
  const std::string& verb = cmd.verb;
  if (verb == "EHLO" || verb == "HELO") {
    if (cmd.argument.empty()) return error(g, 501, "5.5.4", "Syntax: " + verb + " hostname");
    g.verb = verb;
    g.client_name = std::string(cmd.argument);
    return {Next::reply, verb == "EHLO" ? ehlo_reply(g) : wire::smtp_reply(250, "", g.at.host)};
  }
  if (verb == "STARTTLS") {
    if (!cmd.argument.empty()) return error(g, 501, "5.5.4", "Syntax: STARTTLS takes no argument");
    return {Next::starttls, wire::smtp_reply(220, "2.0.0", "Ready to start TLS")};
  }
  if (verb == "NOOP" || verb == "RSET") return {Next::reply, wire::smtp_reply(250, "2.0.0", "OK")};
  if (verb == "QUIT") return {Next::quit, wire::smtp_reply(221, "2.0.0", g.at.host + " closing the connection")};
  if (verb == "HELP")
    return {Next::reply,
            wire::smtp_reply(214, "2.0.0", g.at.host + " routes by the TLS server name: send EHLO, then STARTTLS")};
  if (std::ranges::find(kServerCommands, verb) != kServerCommands.end()) return needs_tls(g, verb);
  return error(g, 500, "5.5.2", "Command not recognized: " + verb);
}

}  // namespace snigate::session::smtp
