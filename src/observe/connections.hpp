#pragma once
// What the API shows of an open connection.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace snigate::observe {

struct OpenConnection {
  std::string entry_point;
  std::string client;  // ip:port
  std::string sni;
  std::string mode;    // passthrough, terminate, plain, internal
  std::string router;
  std::string service;
  std::string server;
  std::uint64_t bytes_in = 0;   // client to server so far
  std::uint64_t bytes_out = 0;  // server to client so far
  std::chrono::system_clock::time_point start;
};

// The open connections of one router, summed.
struct LiveTotals {
  long open = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
};
using LiveByRouter = std::map<std::string, LiveTotals>;

}  // namespace snigate::observe
