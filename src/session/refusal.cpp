#include "session/refusal.hpp"

#include <fmt/format.h>

namespace snigate::session {

Refusal client_gone(std::string detail) {
  return {Cause::silent, "client_closed", std::move(detail), "", spdlog::level::debug};
}

Refusal hello_refusal(const Sniffed& s, std::chrono::milliseconds hello_timeout, bool after_request) {
  const auto ms = hello_timeout.count();
  if (s.timed_out && s.bytes.empty())
    return {Cause::timeout, "timeout",
            after_request ? fmt::format("no ClientHello after the request for TLS within "
                                        "clientHelloTimeout ({} ms)",
                                        ms)
                          : fmt::format("the client sent nothing within clientHelloTimeout ({} ms)", ms),
            "", after_request ? spdlog::level::info : spdlog::level::debug};
  if (s.timed_out)
    return {Cause::timeout, "timeout",
            fmt::format("incomplete ClientHello after clientHelloTimeout ({} ms, {} bytes)", ms, s.bytes.size())};
  switch (s.status) {
    case wire::HelloStatus::need_more:
      return client_gone(s.bytes.empty()
                             ? std::string("the client closed before sending anything")
                             : fmt::format("the client closed during its ClientHello ({} bytes)", s.bytes.size()));
    case wire::HelloStatus::not_tls:
      // Neither its own protocol any more nor TLS: nothing it could read.
      return {Cause::silent, "bad_hello", "the client asked for TLS and then did not start it"};
    case wire::HelloStatus::too_large:
      return {Cause::bad_hello, "bad_hello", fmt::format("ClientHello larger than {} bytes", wire::kMaxClientHello)};
    case wire::HelloStatus::malformed:
    case wire::HelloStatus::complete: break;
  }
  return {Cause::bad_hello, "bad_hello", "malformed ClientHello: " + s.error};
}

Refusal answered(std::string end, std::string message, std::vector<std::uint8_t> said) {
  Refusal r(Cause::answered, std::move(end), std::move(message));
  r.said = std::move(said);
  return r;
}

std::string with_hint(const Refusal& r) { return r.hint.empty() ? r.message : r.message + "; " + r.hint; }

}  // namespace snigate::session
