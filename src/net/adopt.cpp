#include "net/adopt.hpp"

#include <unistd.h>

#include "net/socket_impl.hpp"

namespace snigate::net {

tcp::socket adopt(const tcp::socket::executor_type& ex, const tcp& protocol, int fd, std::error_code& ec) {
  tcp::socket sock(ex);
  sock.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return sock;
  }
  auto& state = detail::SocketImpl::of(sock).state_;
  state |= asio::detail::socket_ops::internal_non_blocking;
  // assign() assumes the descriptor may be a dup() and so removes it from
  // epoll before closing it (an epoll_ctl per socket); this one is not.
  state &= static_cast<asio::detail::socket_ops::state_type>(~asio::detail::socket_ops::possible_dup);
  return sock;
}

}  // namespace snigate::net
