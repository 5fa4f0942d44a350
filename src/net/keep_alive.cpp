#include "net/keep_alive.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace snigate::net {

bool set_keep_alive(int fd, Duration interval) {
  const int on = interval.count() > 0 ? 1 : 0;
  if (::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0) return false;
  if (!on) return true;
  const int secs = static_cast<int>((interval.count() + 999) / 1000);
  return ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof secs) == 0 &&
         ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &secs, sizeof secs) == 0;
}

}  // namespace snigate::net
