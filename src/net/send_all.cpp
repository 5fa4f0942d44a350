#include "net/send_all.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace snigate::net {

std::size_t send_now(tcp::socket& sock, std::span<const std::uint8_t> bytes, std::error_code& ec) {
  const ssize_t n = ::send(sock.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (n < 0 && errno != EAGAIN && errno != EINTR) ec = std::error_code(errno, std::system_category());
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

awaitable<std::error_code> send_all(tcp::socket& sock, std::span<const std::uint8_t> bytes) {
  std::error_code ec;
  const std::size_t sent = send_now(sock, bytes, ec);
  if (ec || sent == bytes.size()) co_return ec;
  const auto rest = asio::buffer(bytes.data() + sent, bytes.size() - sent);
  auto [wec, m] = co_await asio::async_write(sock, rest, nothrow);
  co_return wec;
}

}  // namespace snigate::net
