#include "net/edge_wait.hpp"

#include "net/socket_impl.hpp"

namespace snigate::net::detail {

Reactor::per_descriptor_data& reactor_data(tcp::socket& sock) { return SocketImpl::of(sock).reactor_data_; }

Reactor& reactor_of(const asio::any_io_executor& ex) {
  return asio::use_service<Reactor>(asio::query(ex, asio::execution::context));
}

}  // namespace snigate::net::detail
