#pragma once
// Writing a few bytes that almost always fit in the socket buffer (the early
// bytes for a fresh server connection): one send() at once, and only what it
// did not take goes through the event loop.
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include "net/asio.hpp"

namespace snigate::net {

// One send(): how many bytes the socket took. ec only for a real error (not
// for a full socket), so a caller can pass the rest to send_all.
std::size_t send_now(tcp::socket& sock, std::span<const std::uint8_t> bytes, std::error_code& ec);

awaitable<std::error_code> send_all(tcp::socket& sock, std::span<const std::uint8_t> bytes);

}  // namespace snigate::net
