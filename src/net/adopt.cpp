#include "net/adopt.hpp"

#include <unistd.h>

namespace snigate::net {

tcp::socket adopt(const tcp::socket::executor_type& ex, const tcp& protocol, int fd, std::error_code& ec) {
  tcp::socket sock(ex);
  sock.assign(protocol, fd, ec);
  if (ec) ::close(fd);
  return sock;
}

}  // namespace snigate::net
