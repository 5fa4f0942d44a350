#include "session/smtp_driver.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "net/linger.hpp"
#include "session/client_tls.hpp"
#include "session/text_leg.hpp"
#include "wire/smtp.hpp"

namespace snigate::session {

using net::awaitable;

namespace {

// A command that did not arrive.
Refusal command_failure(const Conn& c, const LineRead& in) {
  if (in.got == Got::closed) return client_gone("the client closed before starting TLS");
  if (in.got == Got::timeout)
    return {Cause::timeout, "timeout",
            fmt::format("no STARTTLS and ClientHello within clientHelloTimeout ({} ms)",
                        c.entry.ep.client_hello_timeout.count())};
  return {Cause::bad_request, "bad_request", "a bad command line: " + in.why};
}

// The reply a refusal is said with: 421 where trying again later may work,
// 554 where it will not.
std::string refusal_reply(const Refusal& r) {
  const std::string text = "snigate: " + with_hint(r);
  switch (r.cause) {
    case Cause::timeout: return wire::smtp_reply(421, "4.4.2", text);
    case Cause::too_many: return wire::smtp_reply(421, "4.7.0", text);
    case Cause::unreachable:
    case Cause::lost:
    case Cause::answered: return wire::smtp_reply(421, "4.4.1", text);
    case Cause::bad_request:
    case Cause::bad_hello: return wire::smtp_reply(554, "5.5.2", text);
    default: return wire::smtp_reply(554, "5.7.0", text);
  }
}

Refusal server_failure(const Route& r, const Upstream& up, std::string_view step, const ReplyRead& got) {
  if (got.got == Got::done)
    return {Cause::answered, "backend_refused",
            fmt::format("router {}: server {} answered {} with \"{}\"", r.name, up.server->address, step,
                        got.raw.substr(0, got.raw.find('\r')))};
  return {Cause::unreachable, "backend_bad_greeting",
          fmt::format("router {}: server {}: no SMTP reply to {}: {}", r.name, up.server->address, step, got.why)};
}

}  // namespace

std::string mail_hostname(const config::EntryPoint& ep) {
  if (!ep.mail_hostname.empty()) return ep.mail_hostname;
  static const std::string machine = [] {
    char name[256] = {};
    return gethostname(name, sizeof name - 1) == 0 && name[0] ? std::string(name) : std::string("localhost");
  }();
  return machine;
}

awaitable<Refused> SmtpDriver::preamble(Conn& c) {
  c.rec.mode = "smtp";
  greeter.host = mail_hostname(c.entry.ep);
  greeter.plain_routes = c.entry.has_plain_routes;
  const std::string hello = smtp::greeting(greeter);
  if (!co_await write_text(c.client, hello, c.hello_deadline))
    co_return client_gone("could not send the greeting");
  for (;;) {
    LineRead in = co_await read_line(c.client, c.hello_deadline, smtp::kMaxCommandLine);
    if (in.got != Got::done) co_return command_failure(c, in);
    smtp::Answer a = smtp::answer(greeter, in.line);
    if (a.next == smtp::Next::route_plain) {
      // The command and whatever followed it are the server's to read.
      in.line += "\r\n";
      c.client.buf.insert(c.client.buf.begin(), in.line.begin(), in.line.end());
      c.facts.tls = false;
      co_return std::nullopt;
    }
    if (a.next == smtp::Next::starttls && !c.client.buf.empty())
      co_return Refusal{Cause::bad_request, "bad_request",
                        "the client sent more after STARTTLS before its reply (RFC 3207 forbids it)"};
    if (!co_await write_text(c.client, a.reply, c.hello_deadline)) co_return client_gone("could not send a reply");
    if (a.next == smtp::Next::starttls) co_return co_await read_hello(c, true);
    if (a.next == smtp::Next::quit)
      co_return Refusal{Cause::finished, "closed", "the client quit before starting TLS", {}, spdlog::level::debug};
    if (a.next == smtp::Next::close)
      co_return Refusal{Cause::finished, "bad_request",
                        fmt::format("{} commands snigate could not take before STARTTLS", smtp::kMaxErrors)};
  }
}

Refused SmtpDriver::admit(Conn&, const Route& r) {
  passthrough = r.passthrough;
  return std::nullopt;
}

awaitable<Refused> SmtpDriver::open_server(Conn& c, const Route& r, Upstream& up) {
  const auto deadline = net::Clock::now() + up.server->lb->dial_timeout;
  ReplyRead got = co_await read_smtp_reply(up.leg, deadline);
  if (got.got != Got::done || got.code != 220) {
    Refusal s = server_failure(r, up, "the connect", got);
    if (got.got == Got::done && !passthrough) s.said.assign(got.raw.begin(), got.raw.end());  // its own words
    co_return s;
  }
  if (!c.facts.tls) {  // plain: the server gets the client's greeting, then its command
    const std::string greet = greeter.verb + " " + greeter.client_name + "\r\n";
    if (!co_await write_text(up.leg, greet, deadline))
      co_return server_failure(r, up, greeter.verb, {Got::closed, 0, {}, "could not send it"});
    got = co_await read_smtp_reply(up.leg, deadline);
    if (got.got != Got::done || got.code != 250) co_return server_failure(r, up, greeter.verb, got);
    co_return std::nullopt;
  }
  if (passthrough || up.server->tls) {
    if (Refused s = co_await server_starttls(r, up)) co_return s;
  }
  if (!passthrough && up.server->tls) co_return co_await secure_server(r, up, c.open.sni);
  co_return std::nullopt;
}

// Brings the server to where the client is: EHLO, STARTTLS offered and
// taken, its 220 read. Nothing may follow that 220 before TLS.
awaitable<Refused> SmtpDriver::server_starttls(const Route& r, Upstream& up) {
  const auto deadline = net::Clock::now() + up.server->lb->dial_timeout;
  const std::string& name = greeter.client_name.empty() ? greeter.host : greeter.client_name;
  const std::string ehlo_line = "EHLO " + name + "\r\n";
  if (!co_await write_text(up.leg, ehlo_line, deadline))
    co_return server_failure(r, up, "EHLO", {Got::closed, 0, {}, "could not send it"});
  ReplyRead got = co_await read_smtp_reply(up.leg, deadline);
  if (got.got != Got::done || got.code != 250) co_return server_failure(r, up, "EHLO", got);
  const wire::SmtpReplyResult ehlo = wire::parse_smtp_reply(got.raw);
  const auto offers = wire::ehlo_extensions(ehlo.reply);
  if (std::ranges::none_of(offers, [](const wire::EhloExtension& e) { return e.keyword == "STARTTLS"; }))
    co_return Refusal{Cause::not_supported, "backend_no_starttls",
                      fmt::format("router {}: server {} does not offer STARTTLS in its EHLO reply", r.name,
                                  up.server->address)};
  if (!co_await write_text(up.leg, "STARTTLS\r\n", deadline))
    co_return server_failure(r, up, "STARTTLS", {Got::closed, 0, {}, "could not send it"});
  got = co_await read_smtp_reply(up.leg, deadline);
  if (got.got != Got::done || got.code != 220) co_return server_failure(r, up, "STARTTLS", got);
  if (!up.leg.buf.empty())
    co_return Refusal{Cause::unreachable, "backend_bad_greeting",
                      fmt::format("router {}: server {} sent more after its STARTTLS reply, before TLS", r.name,
                                  up.server->address)};
  co_return std::nullopt;
}

awaitable<void> SmtpDriver::speak(Conn& c, const Refusal& r) {
  if (r.cause == Cause::silent || r.cause == Cause::finished) co_return;
  // An unknown name gets the alert that says so; a client that sent no name
  // at all learns more from snigate's reply, so its TLS is ended to say it.
  const bool unnamed = r.cause == Cause::unknown_name && c.open.sni.empty();
  const bool tls_only = r.cause == Cause::bad_hello || r.cause == Cause::no_protocol ||
                        (r.cause == Cause::unknown_name && !unnamed) || r.cause == Cause::not_allowed ||
                        r.cause == Cause::too_many;
  if (c.open.hello_pending && tls_only) {
    co_await send_alert(c.client.sock, alert_for(r.cause));
    co_return;
  }
  if (c.open.hello_pending) {
    // A passthrough route whose server failed, or a client without SNI:
    // snigate ends the client's TLS to say why. The refusal may come after a
    // dial that used up clientHelloTimeout.
    c.hello_deadline = std::max(c.hello_deadline, net::Clock::now() + net::Duration(2000));
    if (Refused failed = co_await secure_client(c, *c.snap.options.at("default"), c.rec.router)) {
      c.rec.detail += " (the client did not accept snigate's TLS to read this)";
      co_return;
    }
  }
  // A client with TLS sends its EHLO first: read it, as closing with unread
  // input resets the connection and can destroy the reply.
  const auto soon = net::Clock::now() + net::Duration(1000);
  if (c.client.tls) co_await read_line(c.client, soon, smtp::kMaxCommandLine);
  const bool own_words = !r.said.empty() && !passthrough;
  const std::string reply = own_words ? std::string(r.said.begin(), r.said.end()) : refusal_reply(r);
  co_await write_text(c.client, reply, soon);
  co_await net::close_after_reply(c.client.sock, c.client.tls.get());
}

}  // namespace snigate::session
