#include "session/pop3_greeter.hpp"

#include <algorithm>
#include <array>

#include "wire/text_line.hpp"

namespace snigate::session::pop3 {

using mail::Answer;
using mail::Next;

namespace {

// The commands of a login (RFC 1939 7, RFC 5034): the server's.
constexpr std::array<std::string_view, 4> kLogin{"USER", "PASS", "APOP", "AUTH"};

Answer error(Greeter& g, std::string_view text) {
  if (++g.errors >= mail::kMaxErrors) return {Next::close, "-ERR " + g.at.host + " too many errors\r\n"};
  return {Next::reply, "-ERR " + mail::printable_line(text, 400) + "\r\n"};
}

}  // namespace

std::string greeting(const Greeter& g) { return "+OK " + g.at.host + " ready (snigate)\r\n"; }

Answer answer(Greeter& g, std::string_view line) {
  const wire::TextCommand cmd = wire::parse_text_command(line);
  if (!cmd.error.empty()) return error(g, "Syntax error: " + cmd.error);
  const std::string& verb = cmd.verb;
  if (verb == "CAPA" && g.after_tls) return {Next::reply, "+OK Capability list follows\r\nUSER\r\n.\r\n"};
  if (verb == "CAPA")
    return {Next::reply, std::string("+OK Capability list follows\r\nSTLS\r\n") +
                             (g.at.plain_routes ? "USER\r\n" : "") + ".\r\n"};
  if (verb == "STLS" && g.after_tls) return error(g, "TLS is already active");
  if (verb == "STLS" && !cmd.argument.empty()) return error(g, "STLS takes no argument");
  if (verb == "STLS") return {Next::starttls, "+OK Begin TLS negotiation\r\n"};
  if (verb == "NOOP") return {Next::reply, "+OK\r\n"};
  if (verb == "QUIT") return {Next::quit, "+OK " + g.at.host + " closing the connection\r\n"};
  if (std::ranges::find(kLogin, verb) != kLogin.end()) {
    if (g.after_tls && verb == "USER" && !cmd.argument.empty()) return mail::route_by(std::string(cmd.argument));
    if (g.after_tls)
      return error(g, "The client sent no SNI, so " + g.at.host +
                          " chooses the server by the domain of the login: send USER user@domain first");
    if (g.at.plain_routes) return {Next::route_plain, {}};
    return error(g, "STLS first: " + g.at.host + " chooses the server by the name the client's TLS sends (SNI), " +
                        "and takes no " + verb + " without TLS");
  }
  return error(g, "Command not recognized before " + std::string(g.after_tls ? "USER: " : "STLS: ") + verb);
}

}  // namespace snigate::session::pop3
