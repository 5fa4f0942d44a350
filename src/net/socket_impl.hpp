#pragma once
// Asio's private per-socket state, for the two places that must reach it
// (adopt: the non-blocking bits; edge_wait: the reactor's descriptor data).
// Checked against Asio 1.22's reactive sockets on Linux.
#include "net/asio.hpp"

namespace snigate::net::detail {

// A derived class may name the protected implementation of a socket; the
// member pointer it forms then works on any tcp::socket.
struct SocketImpl : tcp::socket {
  static auto& of(tcp::socket& s) {
    constexpr auto impl = &SocketImpl::impl_;
    return (s.*impl).get_implementation();
  }
};

}  // namespace snigate::net::detail
