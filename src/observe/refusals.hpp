#pragma once
// The last refusals (connections that ended before any byte reached a
// server: no route, denied, a dead backend, a timeout...), newest first, for
// the API and the dashboard. A fixed ring: the oldest is overwritten.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "observe/log.hpp"

namespace snigate::observe {

struct RefusalRecord {
  std::chrono::system_clock::time_point time;
  std::string entry_point;
  std::string client;  // ip:port
  std::string sni;
  std::string alpn;    // offered, comma-separated
  std::string mode;
  std::string router;  // "" when none matched
  std::string end;     // as in the access log: no_route, denied, backend_unreachable, ...
  std::string detail;  // the explanation the client was given
};

constexpr std::size_t kRefusalsKept = 256;

void remember_refusal(const AccessRecord& rec);
// Newest first, at most limit.
std::vector<RefusalRecord> recent_refusals(std::size_t limit = kRefusalsKept);

}  // namespace snigate::observe
