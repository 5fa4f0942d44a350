#pragma once
// One health-check probe of one server: connect, then (as the check says) a
// TLS handshake, send, and read until the answer settles it. judge_answer is
// the pure part: what the bytes received so far say.
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "balance/service.hpp"
#include "net/asio.hpp"

namespace snigate::balance {

struct ProbeTarget {
  std::string service;  // for logs
  std::string address;  // as configured
  net::HostPort at;     // the address to probe (healthCheck.port applied)
  HealthCheck check;
  std::shared_ptr<const tls::BackendTls> backend_tls;  // for check.tls
  std::shared_ptr<ServerHealth> health;
};

enum class Answer { need_more, pass, fail };

// The first bytes of the server's answer against the check: a MySQL
// greeting (not an ERR), 'S' or 'N' to an SSLRequest, or text containing
// expect. why: on fail, what was wrong.
Answer judge_answer(const HealthCheck& check, std::span<const std::uint8_t> got, std::string& why);

// Whether the check reads an answer at all (a bare TCP check does not).
bool reads_answer(const HealthCheck& check);

// Runs the probe; empty when the server passed, otherwise why it did not.
net::awaitable<std::string> probe(const ProbeTarget& t);

}  // namespace snigate::balance
