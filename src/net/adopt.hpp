#pragma once
// Descriptors snigate opens itself already non-blocking (accept4 and socket
// with SOCK_NONBLOCK) become Asio sockets here. Asio keeps whether a socket
// is non-blocking in its own state and, not knowing, would set O_NONBLOCK
// again with an ioctl before its first operation on each: a syscall per
// socket for nothing. It has no public way to be told, so adopt() sets that
// state itself (and clears "possibly a dup", which costs an epoll_ctl DEL at
// close).
#include "net/asio.hpp"

namespace snigate::net {

// fd: a TCP socket of this protocol with O_NONBLOCK set. Registers it with the
// reactor (one epoll_ctl, as for any Asio socket). On failure closes fd.
tcp::socket adopt(const tcp::socket::executor_type& ex, const tcp& protocol, int fd, std::error_code& ec);

}  // namespace snigate::net
