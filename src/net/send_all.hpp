#pragma once
// Writing a few bytes that almost always fit in the socket buffer (the early
// bytes for a fresh server connection): one send() at once, and only what it
// did not take goes through the event loop.
#include <cstdint>
#include <span>
#include <system_error>

#include "net/asio.hpp"

namespace snigate::net {

awaitable<std::error_code> send_all(tcp::socket& sock, std::span<const std::uint8_t> bytes);

}  // namespace snigate::net
