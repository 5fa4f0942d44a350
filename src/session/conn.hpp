#pragma once
// What one connection's journey carries from step to step, and the steps that
// every protocol driver shares (session.cpp for TLS/plain, mysql.cpp for MySQL).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.hpp"
#include "net/relay.hpp"
#include "net/tls_stream.hpp"
#include "observe/log.hpp"
#include "session/snapshot.hpp"

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
};

inline net::Duration left(net::Clock::time_point deadline) {
  return std::max(net::Duration(0), std::chrono::duration_cast<net::Duration>(deadline - net::Clock::now()));
}

// A refusal: sets how the access record ends and why.
inline void refuse(Conn& c, std::string end, std::string detail) {
  c.rec.end = std::move(end);
  c.rec.detail = std::move(detail);
}

// The connection is set up: the relay takes both sides over (the client's
// socket and TLS stream from c) and returns at once, so the journey's frames
// are freed while it runs. When it ends it completes the access record (bytes,
// end; its detail after any already there, "; "-separated), writes the
// access-log line and stops counting the connection.
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
