#include "session/mail_protocols.hpp"

#include <fmt/format.h>
#include <unistd.h>

namespace snigate::session::mail {

std::string hostname(const config::EntryPoint& ep) {
  if (!ep.mail_hostname.empty()) return ep.mail_hostname;
  static const std::string machine = [] {
    char name[256] = {};
    return gethostname(name, sizeof name - 1) == 0 && name[0] ? std::string(name) : std::string("localhost");
  }();
  return machine;
}

Refusal server_refused(const Route& r, const Upstream& up, std::string_view step, std::string_view first_line) {
  return {Cause::answered, "backend_refused",
          fmt::format("router {}: server {} answered {} with \"{}\"", r.name, up.server->address, step, first_line)};
}

Refusal server_silent(const Route& r, const Upstream& up, std::string_view step, std::string_view why) {
  return {Cause::unreachable, "backend_bad_greeting",
          fmt::format("router {}: server {}: no answer to {}: {}", r.name, up.server->address, step, why)};
}

}  // namespace snigate::session::mail
