#pragma once
// Choosing a server of a service and connecting to it: round robin, skipping
// servers that refuse or time out, all within the transport's dialTimeout.
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "net/asio.hpp"
#include "net/tls_stream.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {

// The connected server, or nullptr with why saying what each attempt got.
// early: bytes for the server, which go out with the connect to a plain
// (not TLS) server as far as its socket takes them at once; *sent: how many.
net::awaitable<const Server*> connect_service(const Service& svc, net::tcp::socket& sock, std::string& why,
                                              std::span<const std::uint8_t> early = {}, std::size_t* sent = nullptr);

// Re-encryption: a TLS client session to the server, verified per the
// serversTransport. sni: the client's, used when the transport names none.
net::awaitable<std::unique_ptr<net::TlsStream>> start_backend_tls(const Service& svc, const Server& server,
                                                                 net::tcp::socket& sock, std::string_view sni,
                                                                 std::string& why);

}  // namespace snigate::session
