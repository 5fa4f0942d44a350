#include "session/smtp_greeter.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "wire/mail_login.hpp"
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
  if (g.after_tls) return "250-" + g.at.host + "\r\n250-AUTH PLAIN LOGIN\r\n250 ENHANCEDSTATUSCODES\r\n";
  return "250-" + g.at.host + "\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n";
}

Answer login_user(Greeter& g, const wire::LoginUser& u) {
  if (!u.error.empty()) return error(g, 501, "5.5.2", "Cannot read the login: " + u.error);
  return mail::route_by(u.user);
}

// The answer to AUTH's 334 (RFC 4954 4): "*" cancels.
Answer auth_answer(Greeter& g, std::string_view line) {
  const std::string mechanism = std::exchange(g.awaiting, {});
  if (line == "*") {
    g.server_auth.clear();
    return error(g, 501, "5.7.0", "Authentication cancelled");
  }
  return login_user(g, mechanism == "PLAIN" ? wire::sasl_plain_user(line) : wire::sasl_login_user(line));
}

// AUTH after snigate ended the client's TLS: the login names the server.
Answer auth(Greeter& g, std::string_view argument) {
  if (g.verb.empty()) return error(g, 503, "5.5.1", "Send EHLO first");
  const std::size_t space = argument.find(' ');
  const std::string mechanism = wire::ascii_upper(argument.substr(0, space));
  const std::string_view initial = space == std::string_view::npos ? std::string_view() : argument.substr(space + 1);
  if (mechanism != "PLAIN" && mechanism != "LOGIN")
    return error(g, 504, "5.5.4", "Unrecognized authentication type: " + mechanism + " (offered: PLAIN LOGIN)");
  if (!initial.empty() && initial != "=")
    return login_user(g, mechanism == "PLAIN" ? wire::sasl_plain_user(initial) : wire::sasl_login_user(initial));
  g.awaiting = mechanism;
  g.server_auth = "AUTH " + mechanism;
  // LOGIN asks for "Username:" (base64); PLAIN for the whole response.
  return {Next::reply, mechanism == "PLAIN" ? "334 \r\n" : "334 VXNlcm5hbWU6\r\n"};
}

// What is left after TLS until the login: the client must authenticate, as
// only its login can name the server.
Answer after_tls(Greeter& g, const std::string& verb, std::string_view argument) {
  if (verb == "AUTH") return auth(g, argument);
  if (verb == "STARTTLS") return error(g, 503, "5.5.1", "TLS is already active");
  return error(g, 530, "5.7.0",
               "Authentication required: the client sent no SNI, so " + g.at.host +
                   " chooses the server by the domain of the login (AUTH as user@domain)");
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

void start_after_tls(Greeter& g) {
  g.after_tls = true;
  g.verb.clear();
  g.client_name.clear();
}

Answer answer(Greeter& g, std::string_view line) {
  if (!g.awaiting.empty()) return auth_answer(g, line);
  const wire::TextCommand cmd = wire::parse_text_command(line);
  if (!cmd.error.empty()) return error(g, 500, "5.5.2", "Syntax error: " + cmd.error);
  const std::string& verb = cmd.verb;
  if (verb == "EHLO" || verb == "HELO") {
    if (cmd.argument.empty()) return error(g, 501, "5.5.4", "Syntax: " + verb + " hostname");
    g.verb = verb;
    g.client_name = std::string(cmd.argument);
    return {Next::reply, verb == "EHLO" ? ehlo_reply(g) : wire::smtp_reply(250, "", g.at.host)};
  }
  if (g.after_tls && verb == "HELP")
    return {Next::reply, wire::smtp_reply(214, "2.0.0", g.at.host + " routes by the login: send EHLO, then AUTH as "
                                                                        "user@domain")};
  if (g.after_tls && verb != "NOOP" && verb != "RSET" && verb != "QUIT")
    return after_tls(g, verb, cmd.argument);
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
