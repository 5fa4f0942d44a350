// The server's side of IMAP for MailDriver (mail_protocols.hpp).
#include <fmt/format.h>

#include "session/mail_protocols.hpp"
#include "session/text_leg.hpp"
#include "wire/imap.hpp"

namespace snigate::session::mail {

using net::awaitable;

namespace {

// Untagged lines a server may send before the answer to snigate's command.
constexpr int kMaxUntagged = 32;

}  // namespace

awaitable<Refused> Imap::server_greeting(const Route& r, Upstream& up, Deadline deadline) {
  const LineRead in = co_await read_line(up.leg, deadline, imap::kMaxCommandLine);
  if (in.got != Got::done) co_return server_silent(r, up, "the connect", in.why);
  const wire::ImapResponse greeting = wire::parse_imap_response(in.line);
  if (greeting.kind == wire::ImapResponseKind::untagged && greeting.status == "OK") co_return std::nullopt;
  if (greeting.kind == wire::ImapResponseKind::untagged && greeting.status == "BYE") {
    Refusal s = server_refused(r, up, "the connect", in.line);
    const std::string said = in.line + "\r\n";  // the server's own words
    s.said.assign(said.begin(), said.end());
    co_return s;
  }
  // PREAUTH: the server logged the connection in already; no STARTTLS, and
  // no login for the client to give.
  co_return server_refused(r, up, "the connect", in.line);
}

awaitable<Refused> Imap::server_starttls(const Route& r, Upstream& up, Deadline deadline) {
  const std::string command = "s1 STARTTLS\r\n";
  if (!co_await write_text(up.leg, command, deadline)) co_return server_silent(r, up, "STARTTLS", "could not send it");
  for (int untagged = 0; untagged <= kMaxUntagged; ++untagged) {
    const LineRead in = co_await read_line(up.leg, deadline, imap::kMaxCommandLine);
    if (in.got != Got::done) co_return server_silent(r, up, "STARTTLS", in.why);
    const wire::ImapResponse answer = wire::parse_imap_response(in.line);
    if (answer.kind != wire::ImapResponseKind::tagged) continue;
    if (answer.tag == "s1" && answer.status == "OK") co_return std::nullopt;
    co_return server_refused(r, up, "STARTTLS", in.line);  // NO or BAD: it does not offer STARTTLS
  }
  co_return server_silent(r, up, "STARTTLS", fmt::format("more than {} untagged lines", kMaxUntagged));
}

// BYE (RFC 9051 7.1.5) with UNAVAILABLE (RFC 5530) where trying again later
// may work.
std::string Imap::refusal(const Refusal& r) const {
  const bool later = r.cause == Cause::timeout || r.cause == Cause::too_many || r.cause == Cause::unreachable ||
                     r.cause == Cause::lost || r.cause == Cause::answered;
  return std::string("* BYE ") + (later ? "[UNAVAILABLE] " : "") + printable_line("snigate: " + with_hint(r), 2000) +
         "\r\n";
}

}  // namespace snigate::session::mail
