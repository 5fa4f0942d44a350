#pragma once
// Waiting for a socket without re-arming it in epoll when that is not needed.
//
// Asio registers sockets in epoll edge-triggered and re-arms the descriptor
// (EPOLL_CTL_MOD) on every async_wait, because a wait may start after the
// readiness it is waiting for came, and that edge is gone. Two kinds of wait
// have no such past, and for them the re-arm is a syscall for nothing:
//
// - one that starts straight after EAGAIN: the next edge is still to come.
//   On a relayed conversation that is one syscall in four (recv, send,
//   recv -> EAGAIN, epoll_ctl per message).
// - a read wait after a read that drained the socket through Asio's reactor
//   (reactor_recv), when the reactor has seen no edge for the socket since:
//   every byte that came after that read has its edge still pending in
//   epoll. The reactor keeps a flag per socket for exactly this (an edge
//   sets it; a read of its own that found the socket exhausted clears it) to
//   decide whether its next read is worth trying at once. A new
//   connection's first wait after its first message is such a wait: one
//   epoll_ctl per connection.
//
// wait_ready queues such a wait in Asio's reactor as a speculative operation.
// Asio tries it at once only while that flag is set: a wait after EAGAIN
// declines (not ready), a wait after a reactor read accepts (an edge may be
// gone: the caller's read finds out). Either way Asio queues it without a
// re-arm when it is not done. It needs Asio 1.22's epoll reactor internals
// (asio::detail), and falls back to async_wait when its premise may not
// hold: a caller that cannot vouch for either, or a handler with a
// cancellation slot (within() groups cancel through it; this wait does not
// listen). Everything here runs on the thread that runs the socket's
// io_context, as all of snigate's socket work does.
#include <sys/types.h>

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include <asio/recycling_allocator.hpp>

#include "net/asio.hpp"

namespace snigate::net {

// What the caller knows of a socket's readiness in the direction it waits
// for, which decides whether the wait must re-arm the socket in epoll.
enum class Since : std::uint8_t {
  unknown,       // anything may have happened: re-arm (Asio's async_wait)
  eagain,        // the caller's last read or write on it said EAGAIN
  reactor_read,  // ask the reactor: re-arm only if an edge may have come since a read last drained it (wait_read)
};

// ::recv (same result, errno set) run inside Asio's reactor, so that the
// reactor learns whether it drained the socket (recv_drained: no byte and no
// FIN left; a short read alone may have taken a FIN whose edge is gone). A
// later wait_ready(..., Since::reactor_read) then needs no re-arm unless an
// edge came in between. Costs a posted no-op completion, no syscall beyond
// the read.
ssize_t reactor_recv(tcp::socket& sock, void* buf, std::size_t len);

namespace detail {

using Reactor = asio::detail::reactor;

// Asio's per-descriptor reactor state of a socket or listener, and its reactor.
Reactor::per_descriptor_data& reactor_data(tcp::socket& sock);
Reactor::per_descriptor_data& reactor_data(tcp::acceptor& acc);
// The reactor that registered the socket (no lookup: its state says).
Reactor& reactor_of(tcp::socket& sock);
Reactor& reactor_of(tcp::acceptor& acc);

// Operations come from the thread's recycling cache, as Asio's own do: a
// relay starts a wait per message.
template <class Op, class... Args>
Op* make_op(Args&&... args) {
  return new (asio::recycling_allocator<Op>().allocate(1)) Op(std::forward<Args>(args)...);
}

template <class Op>
void free_op(Op* op) {
  op->~Op();
  asio::recycling_allocator<Op>().deallocate(op, 1);
}

template <class Handler>
struct EdgeWaitOp : asio::detail::reactor_op {
  explicit EdgeWaitOp(Handler&& h) : reactor_op(std::error_code(), &perform, &complete), handler(std::move(h)) {}

  // Called at once by start_op if Asio tries the operation speculatively,
  // which it does unless the last read drained the socket and no edge came
  // since. After EAGAIN, "not ready" queues it without a re-arm; after a
  // reactor read, being tried means an edge may be gone, so it completes at
  // once and the caller's read finds out. Afterwards only an epoll event (or
  // a cancel or close, which complete it with an error) runs it.
  static status perform(reactor_op* base) {
    auto* op = static_cast<EdgeWaitOp*>(base);
    return op->started || op->ready_if_tried ? done : not_done;
  }

  // owner is null when the io_context is destroyed with the wait pending:
  // the handler is freed, not called.
  static void complete(void* owner, asio::detail::operation* base, const std::error_code&, std::size_t) {
    auto* op = static_cast<EdgeWaitOp*>(base);
    const std::error_code ec = op->ec_;
    Handler h(std::move(op->handler));
    free_op(op);
    if (owner) std::move(h)(ec);
  }

  Handler handler;
  bool started = false;
  bool ready_if_tried = false;
};

template <class Socket, class Handler>
void start_edge_wait(Socket& sock, asio::socket_base::wait_type what, Since since, Handler&& handler) {
  using Op = EdgeWaitOp<std::decay_t<Handler>>;
  auto* op = make_op<Op>(std::forward<Handler>(handler));
  op->ready_if_tried = since == Since::reactor_read;
  const int type = what == asio::socket_base::wait_write ? Reactor::write_op : Reactor::read_op;
  reactor_of(sock).start_op(type, sock.native_handle(), reactor_data(sock), op, false, true);
  // The io_context runs on this thread only, so the op cannot have run yet
  // unless start_op completed it at once (then it is already queued for
  // completion and started no longer matters).
  op->started = true;
}

}  // namespace detail

// Waits until sock is ready for what; since says whether the wait may skip
// the epoll re-arm (Since::unknown: it is Asio's async_wait). Completes with
// operation_aborted on cancel() or close(). After a reactor read it may
// complete at once with the socket not ready: the caller's read says EAGAIN
// and its next wait is an after-EAGAIN one. Socket: tcp::socket, or a
// tcp::acceptor (read: a connection to accept).
template <class Socket, class Token>
auto wait_ready(Socket& sock, asio::socket_base::wait_type what, Since since, Token&& token) {
  return asio::async_initiate<Token, void(std::error_code)>(
      [&sock, what, since](auto handler) {
        const bool edge = since == Since::eagain || (since == Since::reactor_read && what == asio::socket_base::wait_read);
        if (!edge || asio::get_associated_cancellation_slot(handler).is_connected())
          return sock.async_wait(what, std::move(handler));
        detail::start_edge_wait(sock, what, since, std::move(handler));
      },
      token);
}

}  // namespace snigate::net
