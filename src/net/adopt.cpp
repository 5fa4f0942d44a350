#include "net/adopt.hpp"

#include <unistd.h>

namespace snigate::net {
namespace {

// A derived class may name the protected implementation of a socket; the
// member pointer it forms then works on any tcp::socket. (Checked against
// Asio 1.22's reactive sockets: state_ holds the non-blocking bits.)
struct SocketState : tcp::socket {
  static asio::detail::socket_ops::state_type& of(tcp::socket& s) {
    constexpr auto impl = &SocketState::impl_;
    return (s.*impl).get_implementation().state_;
  }
};

}  // namespace

tcp::socket adopt(const tcp::socket::executor_type& ex, const tcp& protocol, int fd, std::error_code& ec) {
  tcp::socket sock(ex);
  sock.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return sock;
  }
  auto& state = SocketState::of(sock);
  state |= asio::detail::socket_ops::internal_non_blocking;
  // assign() assumes the descriptor may be a dup() and so removes it from
  // epoll before closing it (an epoll_ctl per socket); this one is not.
  state &= static_cast<asio::detail::socket_ops::state_type>(~asio::detail::socket_ops::possible_dup);
  return sock;
}

}  // namespace snigate::net
