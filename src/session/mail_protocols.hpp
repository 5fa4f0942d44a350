#pragma once
// What differs between the mail protocols for MailDriver<P> (mail_driver.hpp):
// the greeter that answers the client before TLS (and after, when snigate
// ended the client's TLS to read its login), the server's side (its greeting,
// the upgrade to TLS, what the server must hear before the client's command
// that snigate read: SMTP's EHLO and AUTH), and a refusal in the protocol's
// words. One struct per protocol;
// their server sides are in smtp_server.cpp, imap_server.cpp, pop3_server.cpp.
#include <cstddef>
#include <string>
#include <string_view>

#include "net/asio.hpp"
#include "session/conn.hpp"
#include "session/imap_greeter.hpp"
#include "session/pop3_greeter.hpp"
#include "session/refusal.hpp"
#include "session/smtp_greeter.hpp"
#include "session/upstream.hpp"

namespace snigate::session::mail {

using Deadline = net::Clock::time_point;

// The name snigate's mail greetings give: mail.hostname, else the machine's.
std::string hostname(const config::EntryPoint& ep);

// "router R: server S answered STEP with "LINE"" (said: its own words), or
// that no answer came (why).
Refusal server_refused(const Route& r, const Upstream& up, std::string_view step, std::string_view first_line);
Refusal server_silent(const Route& r, const Upstream& up, std::string_view step, std::string_view why);

struct Smtp {
  static constexpr const char* mode = "smtp";
  static constexpr const char* upgrade = "STARTTLS";
  static constexpr std::size_t max_line = smtp::kMaxCommandLine;
  smtp::Greeter greeter;

  void start(Where at) { greeter.at = std::move(at); }
  std::string greeting() const { return smtp::greeting(greeter); }
  Answer answer(std::string_view line) { return smtp::answer(greeter, line); }
  net::awaitable<Refused> server_greeting(const Route& r, Upstream& up, Deadline deadline);
  net::awaitable<Refused> server_replay(const Route& r, Upstream& up, Deadline deadline);
  net::awaitable<Refused> server_starttls(const Route& r, Upstream& up, Deadline deadline);
  std::string refusal(const Refusal& r) const;
  void after_tls() { smtp::start_after_tls(greeter); }
};

struct Imap {
  static constexpr const char* mode = "imap";
  static constexpr const char* upgrade = "STARTTLS";
  static constexpr std::size_t max_line = imap::kMaxCommandLine;
  imap::Greeter greeter;

  void start(Where at) { greeter.at = std::move(at); }
  std::string greeting() const { return imap::greeting(greeter); }
  Answer answer(std::string_view line) { return imap::answer(greeter, line); }
  net::awaitable<Refused> server_greeting(const Route& r, Upstream& up, Deadline deadline);
  net::awaitable<Refused> server_replay(const Route&, Upstream&, Deadline) { co_return std::nullopt; }
  net::awaitable<Refused> server_starttls(const Route& r, Upstream& up, Deadline deadline);
  std::string refusal(const Refusal& r) const;
  void after_tls() { greeter.after_tls = true; }
};

struct Pop3 {
  static constexpr const char* mode = "pop3";
  static constexpr const char* upgrade = "STLS";
  static constexpr std::size_t max_line = pop3::kMaxCommandLine;
  pop3::Greeter greeter;

  void start(Where at) { greeter.at = std::move(at); }
  std::string greeting() const { return pop3::greeting(greeter); }
  Answer answer(std::string_view line) { return pop3::answer(greeter, line); }
  net::awaitable<Refused> server_greeting(const Route& r, Upstream& up, Deadline deadline);
  net::awaitable<Refused> server_replay(const Route&, Upstream&, Deadline) { co_return std::nullopt; }
  net::awaitable<Refused> server_starttls(const Route& r, Upstream& up, Deadline deadline);
  std::string refusal(const Refusal& r) const;
  void after_tls() { greeter.after_tls = true; }
};

}  // namespace snigate::session::mail
