#pragma once
// Levelled logs to stderr and the JSON access log (one line per connection).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace snigate::observe {

// level: DEBUG, INFO, WARN, ERROR (Traefik's names; case-insensitive).
void setup_logging(std::string_view level);

struct AccessRecord {
  std::chrono::system_clock::time_point start;
  std::string_view entry_point;
  std::string client;        // "ip:port": a trusted PROXY header's source when one came
  std::string peer;          // the connection's own "ip:port" when it sent a PROXY header; else ""
  bool tls = false;          // the client started TLS
  std::string sni;
  std::string alpn;          // offered, comma-separated
  std::string alpn_chosen;   // negotiated when snigate terminated TLS
  std::string tls_version;   // from the hello (passthrough) or the handshake
  std::string mode;          // passthrough, terminate, plain, internal
  std::string router;
  std::string service;
  std::string server;
  std::uint64_t bytes_in = 0;   // client to server
  std::uint64_t bytes_out = 0;  // server to client
  std::string end;           // closed, no_route, backend_unreachable, timeout, ...
  std::string detail;        // the human explanation behind end
  // For the metrics, not the log: seconds of snigate's TLS handshake with the
  // client, and of connecting the server; < 0 when there was none.
  double handshake_seconds = -1;
  double connect_seconds = -1;
};

// path: "" disables, "-" is stdout. Safe to call again on reload.
void open_access_log(const std::string& path);
// Whether lines written now go anywhere.
bool access_log_open();
void write_access(const AccessRecord& r);

std::string json_escape(std::string_view s);

// s for a line of the text log: backslash, control bytes and every byte
// outside printable ASCII written as \\, \n, \r, \t or \xNN. What a client
// chose (an SNI, a user name, a server's error text) can then neither start a
// forged line nor send a terminal escape sequence.
std::string printable(std::string_view s);

}  // namespace snigate::observe
