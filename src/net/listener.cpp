#include "net/listener.hpp"

#include <sys/socket.h>

#include "net/dial.hpp"

namespace snigate::net {

bool parse_listen_address(std::string_view text, tcp::endpoint& out, std::string& error) {
  HostPort hp;
  const bool any = text.starts_with(':');
  if (!HostPort::parse(any ? "0.0.0.0" + std::string(text) : std::string(text), hp)) {
    error = "\"" + std::string(text) + "\" is not host:port";
    return false;
  }
  if (any) {
    out = tcp::endpoint(asio::ip::address_v6::any(), hp.port);
    return true;
  }
  std::error_code ec;
  auto addr = asio::ip::make_address(hp.host == "localhost" ? "127.0.0.1" : hp.host, ec);
  if (ec) {
    error = "\"" + hp.host + "\" is not an IP address (listen addresses are not resolved)";
    return false;
  }
  out = tcp::endpoint(addr, hp.port);
  return true;
}

tcp::acceptor open_listener(asio::io_context& io, const tcp::endpoint& at, std::error_code& ec) {
  tcp::acceptor acc(io);
  acc.open(at.protocol(), ec);
  if (ec) return acc;
  acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (at.address().is_v6() && at.address().is_unspecified()) acc.set_option(asio::ip::v6_only(false), ec);
  const int one = 1;
  ::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  acc.bind(at, ec);
  if (!ec) acc.listen(4096, ec);
  return acc;
}

}  // namespace snigate::net
