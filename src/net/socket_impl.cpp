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

using DescriptorState = asio::detail::reactor::descriptor_state;
using ReactorMember = asio::detail::reactor* DescriptorState::*;

ReactorMember descriptor_reactor_member();

template <ReactorMember M>
struct ExposeDescriptorReactor {
  friend ReactorMember descriptor_reactor_member() { return M; }
};

template struct ExposeDescriptorReactor<&DescriptorState::reactor_>;

}  // namespace

asio::detail::reactive_socket_service<tcp>::implementation_type& acceptor_impl(tcp::acceptor& acc) {
  return (acc.*acceptor_impl_member()).get_implementation();
}

asio::detail::reactor& reactor_of_descriptor(asio::detail::reactor::per_descriptor_data data) {
  return *(data->*descriptor_reactor_member());
}

}  // namespace snigate::net::detail
