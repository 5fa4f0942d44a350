#include "net/send_all.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace snigate::net {

awaitable<std::error_code> send_all(tcp::socket& sock, std::span<const std::uint8_t> bytes) {
  const ssize_t n = ::send(sock.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (n < 0 && errno != EAGAIN && errno != EINTR) co_return std::error_code(errno, std::system_category());
  const std::size_t sent = n > 0 ? static_cast<std::size_t>(n) : 0;
  if (sent == bytes.size()) co_return std::error_code{};
  const auto rest = asio::buffer(bytes.data() + sent, bytes.size() - sent);
  auto [ec, m] = co_await asio::async_write(sock, rest, nothrow);
  co_return ec;
}

}  // namespace snigate::net
