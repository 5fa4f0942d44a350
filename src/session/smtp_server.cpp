// The server's side of SMTP for MailDriver (mail_protocols.hpp).
#include <fmt/format.h>

#include <algorithm>

#include "session/mail_protocols.hpp"
#include "session/text_leg.hpp"
#include "wire/smtp.hpp"

namespace snigate::session::mail {

using net::awaitable;

namespace {

std::string_view first_line(const std::string& raw) { return std::string_view(raw).substr(0, raw.find('\r')); }

// Sends a command, reads the reply; a reply with another code is the server's refusal.
awaitable<Refused> exchange(const Route& r, Upstream& up, const std::string& command, int want, Deadline deadline,
                            ReplyRead& got) {
  const std::string_view step = std::string_view(command).substr(0, command.find(' '));
  const std::string line = command + "\r\n";
  if (!co_await write_text(up.leg, line, deadline))
    co_return server_silent(r, up, step, "could not send it");
  got = co_await read_smtp_reply(up.leg, deadline);
  if (got.got != Got::done) co_return server_silent(r, up, step, got.why);
  if (got.code != want) co_return server_refused(r, up, step, first_line(got.raw));
  co_return std::nullopt;
}

}  // namespace

awaitable<Refused> Smtp::server_greeting(const Route& r, Upstream& up, Deadline deadline) {
  const ReplyRead got = co_await read_smtp_reply(up.leg, deadline);
  if (got.got != Got::done) co_return server_silent(r, up, "the connect", got.why);
  if (got.code == 220) co_return std::nullopt;
  Refusal s = server_refused(r, up, "the connect", first_line(got.raw));
  s.said.assign(got.raw.begin(), got.raw.end());  // e.g. 554 or 421: the server's own words
  co_return s;
}

// The client greeted snigate (and began AUTH); its server hears the same
// before the command snigate read, which the client waits to see answered.
awaitable<Refused> Smtp::server_replay(const Route& r, Upstream& up, Deadline deadline) {
  ReplyRead got;
  const std::string greet = greeter.verb + " " + greeter.client_name;
  if (Refused s = co_await exchange(r, up, greet, 250, deadline, got)) co_return s;
  if (greeter.server_auth.empty()) co_return std::nullopt;
  co_return co_await exchange(r, up, greeter.server_auth, 334, deadline, got);
}

// Brings the server to where the client is: EHLO, STARTTLS offered and taken.
awaitable<Refused> Smtp::server_starttls(const Route& r, Upstream& up, Deadline deadline) {
  ReplyRead got;
  const std::string ehlo = "EHLO " + (greeter.client_name.empty() ? greeter.at.host : greeter.client_name);
  if (Refused s = co_await exchange(r, up, ehlo, 250, deadline, got)) co_return s;
  const wire::SmtpReplyResult reply = wire::parse_smtp_reply(got.raw);
  const auto offers = wire::ehlo_extensions(reply.reply);
  if (std::ranges::none_of(offers, [](const wire::EhloExtension& e) { return e.keyword == "STARTTLS"; }))
    co_return Refusal{Cause::not_supported, "backend_no_starttls",
                      fmt::format("router {}: server {} does not offer STARTTLS in its EHLO reply", r.name,
                                  up.server->address)};
  const std::string starttls = "STARTTLS";
  co_return co_await exchange(r, up, starttls, 220, deadline, got);
}

// 421 where trying again later may work, 554 where it will not.
std::string Smtp::refusal(const Refusal& r) const {
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

}  // namespace snigate::session::mail
