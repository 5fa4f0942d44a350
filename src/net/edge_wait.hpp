#pragma once
// Waiting for a socket right after a read or write on it said EAGAIN.
//
// Asio registers sockets in epoll edge-triggered and re-arms the descriptor
// (EPOLL_CTL_MOD) on every async_wait, because a wait may start after the
// readiness it is waiting for came, and that edge is gone. A wait that starts
// straight after EAGAIN has no such past: the next edge is still to come, and
// the re-arm is a syscall for nothing. On a relayed conversation that is one
// syscall in four (recv, send, recv -> EAGAIN, epoll_ctl per message).
//
// wait_ready queues such a wait in Asio's reactor as a speculative operation
// that declines its speculative run, which Asio queues without a re-arm. It
// needs Asio 1.22's epoll reactor internals (asio::detail), and falls back to
// async_wait when its premise may not hold: a caller that cannot vouch for
// the EAGAIN, or a handler with a cancellation slot (within() groups cancel
// through it; this wait does not listen).
#include <memory>
#include <type_traits>
#include <utility>

#include "net/asio.hpp"

namespace snigate::net {

namespace detail {

using Reactor = asio::detail::reactor;

// Asio's per-descriptor reactor state of a socket, and its reactor.
Reactor::per_descriptor_data& reactor_data(tcp::socket& sock);
Reactor& reactor_of(const asio::any_io_executor& ex);

template <class Handler>
struct EdgeWaitOp : asio::detail::reactor_op {
  explicit EdgeWaitOp(Handler&& h) : reactor_op(std::error_code(), &perform, &complete), handler(std::move(h)) {}

  // Called at once by start_op if Asio tries the operation speculatively:
  // "not ready" queues it without a re-arm. Afterwards only an epoll event
  // (or a cancel or close, which complete it with an error) runs it.
  static status perform(reactor_op* base) {
    auto* op = static_cast<EdgeWaitOp*>(base);
    return op->started ? done : not_done;
  }

  // owner is null when the io_context is destroyed with the wait pending:
  // the handler is freed, not called.
  static void complete(void* owner, asio::detail::operation* base, const std::error_code&, std::size_t) {
    std::unique_ptr<EdgeWaitOp> op(static_cast<EdgeWaitOp*>(base));
    const std::error_code ec = op->ec_;
    Handler h(std::move(op->handler));
    op.reset();
    if (owner) std::move(h)(ec);
  }

  Handler handler;
  bool started = false;
};

template <class Handler>
void start_edge_wait(tcp::socket& sock, asio::socket_base::wait_type what, Handler&& handler) {
  using Op = EdgeWaitOp<std::decay_t<Handler>>;
  auto* op = new Op(std::forward<Handler>(handler));
  const int type = what == asio::socket_base::wait_write ? Reactor::write_op : Reactor::read_op;
  reactor_of(sock.get_executor()).start_op(type, sock.native_handle(), reactor_data(sock), op, false, true);
  // The io_context runs on this thread only, so the op cannot have run yet
  // unless start_op completed it at once (then it is already queued for
  // completion and started no longer matters).
  op->started = true;
}

}  // namespace detail

// Waits until sock is ready for what. after_eagain: the caller's last
// operation on sock in that direction failed with EAGAIN, so the wait skips
// the epoll re-arm; otherwise it is Asio's async_wait. Completes with
// operation_aborted on cancel() or close().
template <class Token>
auto wait_ready(tcp::socket& sock, asio::socket_base::wait_type what, bool after_eagain, Token&& token) {
  return asio::async_initiate<Token, void(std::error_code)>(
      [&sock, what, after_eagain](auto handler) {
        if (!after_eagain || asio::get_associated_cancellation_slot(handler).is_connected())
          return sock.async_wait(what, std::move(handler));
        detail::start_edge_wait(sock, what, std::move(handler));
      },
      token);
}

}  // namespace snigate::net
