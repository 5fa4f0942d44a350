#include "net/linger.hpp"

#include <sys/socket.h>

namespace snigate::net {

awaitable<void> close_after_reply(tcp::socket& sock, TlsStream* tls, Duration wait) {
  if (tls) co_await tls->shutdown_write(sock);
  else ::shutdown(sock.native_handle(), SHUT_WR);
  auto discard = [&]() -> awaitable<void> {
    std::uint8_t buf[1024];
    for (;;) {
      std::error_code ec;
      std::size_t n;
      if (tls) {
        n = co_await tls->read_some(sock, buf, ec);
      } else {
        auto [rec, rn] = co_await sock.async_read_some(asio::buffer(buf), nothrow);
        ec = rec;
        n = rn;
      }
      if (ec || n == 0) co_return;
    }
  };
  co_await within(wait, discard());
}

}  // namespace snigate::net
