#include "net/edge_wait.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "net/recv_drained.hpp"
#include "net/socket_impl.hpp"

namespace snigate::net {

namespace detail {

Reactor::per_descriptor_data& reactor_data(tcp::socket& sock) { return SocketImpl::of(sock).reactor_data_; }
Reactor::per_descriptor_data& reactor_data(tcp::acceptor& acc) { return acceptor_impl(acc).reactor_data_; }

namespace {

// A registered socket's state names its reactor. One that is not open has no
// state; start_op then fails the operation with bad_descriptor, and the
// context's reactor is found the slow way (under the service registry's lock).
Reactor& reactor_of(Reactor::per_descriptor_data data, const asio::any_io_executor& ex) {
  if (data) return reactor_of_descriptor(data);
  return asio::use_service<Reactor>(asio::query(ex, asio::execution::context));
}

}  // namespace

Reactor& reactor_of(tcp::socket& sock) { return reactor_of(reactor_data(sock), sock.get_executor()); }
Reactor& reactor_of(tcp::acceptor& acc) { return reactor_of(reactor_data(acc), acc.get_executor()); }

namespace {

// What reactor_recv asked for and got; on its caller's stack.
struct RecvCall {
  int fd;
  void* buf;
  std::size_t len;
  ssize_t n = -1;
  int err = 0;
  bool ran = false;
};

// A read operation that start_op runs at once: a read that left the socket
// drained (recv_drained: nothing, not even a FIN, behind it) reports
// done_and_exhausted, on which the reactor notes it. The
// operation then only has to be freed, through the scheduler like any
// completed operation. If the reactor queued it instead (it does not try a
// read while another waits), its caller has let go of it by the time an edge
// runs it, and it reads nothing.
struct RecvOp : asio::detail::reactor_op {
  explicit RecvOp(RecvCall* c) : reactor_op(std::error_code(), &perform, &complete), call(c) {}

  static status perform(reactor_op* base) {
    RecvCall* c = static_cast<RecvOp*>(base)->call;
    if (!c) return done;
    bool drained = false;
    c->n = recv_drained(c->fd, c->buf, c->len, drained);
    c->err = errno;
    c->ran = true;
    return drained ? done_and_exhausted : done;
  }

  static void complete(void*, asio::detail::operation* base, const std::error_code&, std::size_t) {
    free_op(static_cast<RecvOp*>(base));
  }

  RecvCall* call;
};

}  // namespace
}  // namespace detail

ssize_t reactor_recv(tcp::socket& sock, void* buf, std::size_t len) {
  detail::RecvCall call{sock.native_handle(), buf, len};
  auto* op = detail::make_op<detail::RecvOp>(&call);
  detail::reactor_of(sock).start_op(detail::Reactor::read_op, sock.native_handle(), detail::reactor_data(sock), op, false, true);
  // Not run: queued, or completed with an error without running; either way
  // still alive until this thread runs the io_context again.
  if (!call.ran) {
    op->call = nullptr;
    return ::recv(sock.native_handle(), buf, len, 0);
  }
  errno = call.err;
  return call.n;
}

}  // namespace snigate::net
