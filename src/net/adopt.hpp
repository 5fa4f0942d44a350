#pragma once
// Descriptors snigate opens itself already non-blocking (accept4 and socket
// with SOCK_NONBLOCK) become Asio sockets here, through Asio's public
// assign(). Asio does not know the descriptor is non-blocking and sets
// O_NONBLOCK again before its first operation on it; it has no public way to
// be told otherwise.
#include "net/asio.hpp"

namespace snigate::net {

// fd: a TCP socket of this protocol with O_NONBLOCK set. Registers it with the
// reactor (one epoll_ctl, as for any Asio socket). On failure closes fd.
tcp::socket adopt(const tcp::socket::executor_type& ex, const tcp& protocol, int fd, std::error_code& ec);

}  // namespace snigate::net
