#pragma once
// Asio's private per-socket state, for the two places that must reach it
// (adopt: the non-blocking bits; edge_wait: the reactor's descriptor data,
// of sockets and listeners, and the reactor it belongs to). Checked against
// Asio 1.22's reactive sockets on Linux.
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

// An acceptor's implementation is private, so no derived class can name it;
// socket_impl.cpp reads it through an explicit instantiation, which access
// checks do not apply to.
asio::detail::reactive_socket_service<tcp>::implementation_type& acceptor_impl(tcp::acceptor& acc);

// The reactor a registered descriptor belongs to, from its private state.
asio::detail::reactor& reactor_of_descriptor(asio::detail::reactor::per_descriptor_data data);

}  // namespace snigate::net::detail
