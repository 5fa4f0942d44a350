#include "session/mail_driver.hpp"

#include <fmt/format.h>

#include "net/linger.hpp"
#include "session/client_tls.hpp"
#include "session/text_leg.hpp"
#include "wire/mail_login.hpp"

namespace snigate::session {

using net::awaitable;

namespace {

// A TLS handshake record where a command should be: a client of implicit
// TLS (ports 465, 993, 995) sent to an entry point that speaks the protocol.
bool implicit_tls(const Conn& c, const LineRead& in) {
  const auto tls_record = [](std::string_view b) { return b.size() >= 2 && b[0] == 0x16 && b[1] == 0x03; };
  const std::string_view buf(reinterpret_cast<const char*>(c.client.buf.data()), c.client.buf.size());
  return tls_record(in.got == Got::done ? std::string_view(in.line) : buf);
}

Refusal implicit_tls_refusal(const Conn& c) {
  return {Cause::bad_hello, "bad_request",
          fmt::format("a TLS ClientHello on entry point {}, which speaks {} and expects STARTTLS first: a client of "
                      "implicit TLS (ports 465, 993, 995) belongs on a tcp entry point",
                      c.entry.ep.name, config::protocol_name(c.entry.ep.protocol))};
}

// A command that did not arrive.
Refusal command_failure(const Conn& c, const LineRead& in, const char* upgrade) {
  if (in.got == Got::closed) return client_gone(fmt::format("the client closed before {}", upgrade));
  if (in.got == Got::timeout)
    return {Cause::timeout, "timeout",
            fmt::format("no {} and ClientHello within clientHelloTimeout ({} ms)", upgrade,
                        c.entry.ep.client_hello_timeout.count())};
  return {Cause::bad_request, "bad_request", "a bad command line: " + in.why};
}

}  // namespace

// GCC 12 reports -Wmismatched-new-delete for some coroutines' frames, a known
// false positive (GCC bug 109224); scoped to this driver's.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

template <class P>
awaitable<Refused> MailDriver<P>::preamble(Conn& c) {
  c.rec.mode = P::mode;
  proto.start({mail::hostname(c.entry.ep), c.entry.has_plain_routes});
  const std::string hello = proto.greeting();
  if (!co_await write_text(c.client, hello, c.hello_deadline)) co_return client_gone("could not send the greeting");
  for (bool first = true;; first = false) {
    LineRead in = co_await read_line(c.client, c.hello_deadline, P::max_line);
    if (first && implicit_tls(c, in)) {
      upgrading = true;  // it reads nothing but TLS: the alert, not a reply
      co_return implicit_tls_refusal(c);
    }
    if (in.got != Got::done) co_return command_failure(c, in, P::upgrade);
    const mail::Answer a = proto.answer(in.line);
    if (a.next == mail::Next::route_plain || a.next == mail::Next::route_login) {
      // The command and whatever followed it are the server's to read.
      in.line += "\r\n";
      c.client.buf.insert(c.client.buf.begin(), in.line.begin(), in.line.end());
      client_waits = true;
      if (a.next == mail::Next::route_login) co_return by_login(c, a.login);
      c.facts.tls = false;
      co_return std::nullopt;
    }
    if (a.next == mail::Next::starttls && !c.client.buf.empty())  // RFC 3207 5, RFC 2595 3.1
      co_return Refusal{Cause::bad_request, "bad_request",
                        fmt::format("the client sent more after {} before its answer", P::upgrade)};
    if (!co_await write_text(c.client, a.reply, c.hello_deadline)) co_return client_gone("could not send an answer");
    switch (a.next) {
      case mail::Next::starttls:
        upgrading = true;
        if (Refused s = co_await read_hello(c, true)) co_return s;
        if (!c.open.sni.empty() || match(c.entry, c.facts)) co_return std::nullopt;
        if (Refused s = co_await take_tls(c)) co_return s;
        proto.after_tls();
        break;
      case mail::Next::quit:
        co_return Refusal{Cause::finished, "closed",
                          c.client.tls ? std::string("the client quit before its login (it sent no SNI)")
                                       : fmt::format("the client quit before {}", P::upgrade),
                          {}, spdlog::level::debug};
      case mail::Next::close:
        co_return Refusal{Cause::finished, "bad_request",
                          fmt::format("{} commands snigate could not take before {}", mail::kMaxErrors, P::upgrade)};
      default: break;
    }
  }
}

// The client sent no SNI, and no router takes a client without one: snigate
// ends its TLS, with the default tls.options, to read the login that names
// the server. The router found must accept those options.
template <class P>
awaitable<Refused> MailDriver<P>::take_tls(Conn& c) {
  c.open.handshake_options = c.snap.options.at("default").get();
  co_return co_await secure_client(c, *c.open.handshake_options, "");
}

// user@domain: the domain routes the client, as the SNI would have; the
// server gets the login as the client sent it.
template <class P>
Refused MailDriver<P>::by_login(Conn& c, const std::string& user) {
  const std::string_view domain = wire::login_domain(user);
  if (domain.empty())
    return Refusal{Cause::unknown_name, "no_route",
                   fmt::format("the client sent no SNI, and its login \"{}\" names no domain, so entry point {} "
                               "cannot choose a server",
                               user, c.entry.ep.name),
                   "log in as user@domain, or send the server's name as SNI"};
  c.open.user = user;
  c.open.name_from_user = true;
  set_routing_name(c, lower_ascii(domain));
  return std::nullopt;
}

template <class P>
Refused MailDriver<P>::admit(Conn&, const Route& r) {
  passthrough = r.passthrough;
  return std::nullopt;
}

template <class P>
awaitable<Refused> MailDriver<P>::open_server(Conn& c, const Route& r, Upstream& up) {
  const mail::Deadline deadline = net::Clock::now() + up.server->lb->dial_timeout;
  if (Refused s = co_await proto.server_greeting(r, up, deadline)) {
    if (passthrough) s->said.clear();  // the client's TLS is pending: snigate's words, in TLS
    co_return s;
  }
  if (passthrough || up.server->tls) {
    if (Refused s = co_await proto.server_starttls(r, up, deadline)) {
      s->said.clear();
      co_return s;
    }
    if (!up.leg.buf.empty())  // it would reach the client as if it came through TLS
      co_return Refusal{Cause::unreachable, "backend_bad_greeting",
                        fmt::format("router {}: server {} sent more after its answer to {}, before TLS", r.name,
                                    up.server->address, P::upgrade)};
    if (passthrough) co_return std::nullopt;
    if (Refused s = co_await secure_server(r, up, c.facts.sni)) co_return s;  // the SNI, or the login's domain
  }
  // The server hears what the client told snigate before the command snigate
  // read (SMTP's EHLO), where that command goes to the server.
  if (!c.facts.tls || c.open.name_from_user) co_return co_await proto.server_replay(r, up, deadline);
  co_return std::nullopt;
}

template <class P>
awaitable<void> MailDriver<P>::speak(Conn& c, const Refusal& r) {
  if (!co_await ready_to_answer(c, r, upgrading)) co_return;
  // A client with TLS sends a command first: read it, as closing with unread
  // input resets the connection and can destroy the answer. One whose
  // command snigate read already waits for this answer.
  const auto soon = net::Clock::now() + net::Duration(1000);
  if (c.client.tls && !client_waits) co_await read_line(c.client, soon, P::max_line);
  const std::string answer = r.said.empty() ? proto.refusal(r) : std::string(r.said.begin(), r.said.end());
  co_await write_text(c.client, answer, soon);
  co_await net::close_after_reply(c.client.sock, c.client.tls.get());
}

#pragma GCC diagnostic pop

template struct MailDriver<mail::Smtp>;
template struct MailDriver<mail::Imap>;
template struct MailDriver<mail::Pop3>;

}  // namespace snigate::session
