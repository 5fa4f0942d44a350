// The server's side of POP3 for MailDriver (mail_protocols.hpp).
#include <fmt/format.h>

#include "session/mail_protocols.hpp"
#include "session/text_leg.hpp"
#include "wire/pop3.hpp"

namespace snigate::session::mail {

using net::awaitable;

namespace {

// A status line as wire/pop3 reads it: +OK, -ERR, or neither (not POP3).
enum class Status { ok, err, neither };

Status status_of(const std::string& line) {
  const wire::Pop3Response r = wire::parse_pop3_response(line + "\r\n", false);
  if (r.status != wire::Pop3Status::complete) return Status::neither;
  return r.ok ? Status::ok : Status::err;
}

}  // namespace

awaitable<Refused> Pop3::server_greeting(const Route& r, Upstream& up, Deadline deadline) {
  const LineRead in = co_await read_line(up.leg, deadline, pop3::kMaxCommandLine);
  if (in.got != Got::done) co_return server_silent(r, up, "the connect", in.why);
  const Status st = status_of(in.line);
  if (st == Status::ok) co_return std::nullopt;
  Refusal s = server_refused(r, up, "the connect", in.line);
  if (st == Status::err) {
    const std::string said = in.line + "\r\n";  // the server's own words
    s.said.assign(said.begin(), said.end());
  }
  co_return s;
}

awaitable<Refused> Pop3::server_starttls(const Route& r, Upstream& up, Deadline deadline) {
  const std::string command = "STLS\r\n";
  if (!co_await write_text(up.leg, command, deadline)) co_return server_silent(r, up, "STLS", "could not send it");
  const LineRead in = co_await read_line(up.leg, deadline, pop3::kMaxCommandLine);
  if (in.got != Got::done) co_return server_silent(r, up, "STLS", in.why);
  if (status_of(in.line) == Status::ok) co_return std::nullopt;
  co_return server_refused(r, up, "STLS", in.line);  // -ERR: it does not offer STLS
}

// RFC 3206's SYS/TEMP where trying again later may work; a line is at most
// 512 bytes with its CRLF (RFC 2449 4).
std::string Pop3::refusal(const Refusal& r) const {
  const bool later = r.cause == Cause::timeout || r.cause == Cause::too_many || r.cause == Cause::unreachable ||
                     r.cause == Cause::lost || r.cause == Cause::answered;
  const std::string head = later ? "-ERR [SYS/TEMP] " : "-ERR ";
  return head + printable_line("snigate: " + with_hint(r), 510 - head.size()) + "\r\n";
}

}  // namespace snigate::session::mail
