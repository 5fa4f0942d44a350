#pragma once
// snigate's side of the connection to the server: connecting a server of the
// route's service, and TLS to it when the server is marked tls. What a
// protocol says to its server in between is its driver's (driver.hpp).
#include <cstdint>
#include <span>
#include <string_view>

#include "net/asio.hpp"
#include "session/conn.hpp"
#include "session/refusal.hpp"

namespace snigate::session {

struct Upstream {
  explicit Upstream(const net::tcp::socket::executor_type& ex) : leg(net::tcp::socket(ex)) {}

  Leg leg;
  const Server* server = nullptr;
  std::size_t early_sent = 0;  // of the client's early bytes, sent with the connect
};

// Connects a server of route r's service (round robin, failover) and notes
// it in the access record. early: bytes for a plain server, sent with the
// connect as far as the socket takes them (up.early_sent says how many).
net::awaitable<Refused> connect_server(Conn& c, const Route& r, Upstream& up, std::span<const std::uint8_t> early = {});

// Re-encryption: a TLS client session to the connected server, verified per
// the serversTransport. The server name is the transport's, else sni, else
// the server's host.
net::awaitable<Refused> secure_server(const Route& r, Upstream& up, std::string_view sni);

}  // namespace snigate::session
