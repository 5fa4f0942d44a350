#include "net/socket_impl.hpp"

namespace snigate::net::detail {
namespace {

using AcceptorImpl = asio::detail::io_object_impl<asio::detail::reactive_socket_service<tcp>, tcp::acceptor::executor_type>;
using AcceptorImplMember = AcceptorImpl tcp::acceptor::*;

// Declared here, defined by the friend below once the explicit
// instantiation after it names the private member.
AcceptorImplMember acceptor_impl_member();

template <AcceptorImplMember M>
struct ExposeAcceptorImpl {
  friend AcceptorImplMember acceptor_impl_member() { return M; }
};

template struct ExposeAcceptorImpl<&tcp::acceptor::impl_>;

}  // namespace

asio::detail::reactive_socket_service<tcp>::implementation_type& acceptor_impl(tcp::acceptor& acc) {
  return (acc.*acceptor_impl_member()).get_implementation();
}

}  // namespace snigate::net::detail
