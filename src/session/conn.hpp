#pragma once
// What one connection's journey carries from step to step, and the steps that
// every protocol driver shares (session.cpp for TLS/plain, mysql.cpp for
// MySQL, postgres.cpp and pg_login.cpp for PostgreSQL).
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.hpp"
#include "net/relay.hpp"
#include "net/tls_stream.hpp"
#include "observe/log.hpp"
#include "session/snapshot.hpp"
#include "wire/client_hello.hpp"

namespace snigate::session {

struct Conn {
  net::tcp::socket& client;
  const Snapshot& snap;
  const EntryRoutes& entry;
  net::Clock::time_point hello_deadline;  // accept + clientHelloTimeout: hello and TLS handshake done by then
  observe::AccessRecord rec;
  Facts facts;
  std::string sni;
  std::vector<std::string> alpn;
  std::shared_ptr<const Snapshot> snapshot;   // snap, held by the relay once the journey has returned
  std::unique_ptr<net::TlsStream> client_tls;  // when snigate terminates the client's TLS
  bool relayed = false;  // the relay took the connection over and finishes it
  // Whatever must live exactly as long as the connection (a PostgreSQL
  // session's cancel key registration).
  std::shared_ptr<void> held;
  // The tls.options a terminated handshake used, when it was made before the
  // route was known (database clients): options_mismatch() checks the route.
  const tls::ServerOptions* handshake_options = nullptr;
  // What the relay runs the client's bytes through (MySQL's KILL translation).
  std::unique_ptr<net::UpFilter> up_filter = nullptr;
};

inline net::Duration left(net::Clock::time_point deadline) {
  return std::max(net::Duration(0), std::chrono::duration_cast<net::Duration>(deadline - net::Clock::now()));
}

// A refusal: sets how the access record ends and why.
inline void refuse(Conn& c, std::string end, std::string detail) {
  c.rec.end = std::move(end);
  c.rec.detail = std::move(detail);
}

// The text-log line for a refusal: the client and the detail, which holds
// what the client chose (SNI, user names), made printable.
inline void log_refusal(const Conn& c, spdlog::level::level_enum level = spdlog::level::info) {
  if (spdlog::should_log(level)) spdlog::log(level, "{}: {}", c.rec.client, observe::printable(c.rec.detail));
}

// A-Z only, whatever the locale: names on the wire are ASCII (RFC 6066), and
// this runs for every hello.
inline std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

// Notes what a ClientHello says (SNI lower-cased, ALPN, version) in the
// connection's facts and access record.
void note_hello(Conn& c, const wire::ClientHello& hello);

// A TLS alert (RFC 8446 6.2 description) to a client whose handshake snigate
// did not take, then a lingering close.
net::awaitable<void> send_alert(net::tcp::socket& sock, std::uint8_t description);

// The end of every journey that reaches a server: what either side sent
// before the relay started goes on first (early_up to the server, early_down
// to the client; both are emptied, so an idle connection holds no buffer),
// then relay_and_finish, which takes server over. The client's TLS stream,
// if any, is c.client_tls. up_sent: how much of early_up already went out
// with the connect (connect_service). The relay's limits come from the
// route: its idleTimeout or the entry point's tcpIdleTimeout, and its
// service's terminationDelay.
net::awaitable<void> join(Conn& c, net::RelayLeg& server, std::vector<std::uint8_t>& early_up,
                          std::vector<std::uint8_t>& early_down, const Route& route, std::size_t up_sent = 0);

// The connection is set up: the relay takes both sides over (the client's
// socket and TLS stream from c) and returns at once, so the journey's frames
// are freed while it runs. When it ends it completes the access record (bytes,
// end; its detail after any already there, "; "-separated), writes the
// access-log line and stops counting the connection. c.held lives until then.
void relay_and_finish(Conn& c, net::RelayLeg server, net::RelayLimits limits);

// The server side SSL for terminating a client: certificate chosen by SNI
// from the Snapshot's store, settings from tls.options. nullptr when sniStrict
// is set and no certificate names sni; why then says so.
tls::SslPtr terminating_ssl(const Snapshot& snap, const tls::ServerOptions& options, std::string_view sni,
                            std::string& why);

// The TLS handshake with a terminated client, within what is left of
// clientHelloTimeout. On success notes the version and ALPN in the access
// record; on failure records the refusal and returns false.
net::awaitable<bool> client_handshake(Conn& c, net::TlsStream& tls, std::string_view router);

}  // namespace snigate::session
