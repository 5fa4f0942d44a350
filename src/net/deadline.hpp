#pragma once
// A deadline for a run of operations on one socket without a parallel group
// (within() costs two more coroutines and their shared state): one timer
// that, when it fires, cancels the socket's pending operations, which then
// complete with operation_aborted.
#include "net/asio.hpp"

namespace snigate::net {

struct SocketDeadline {
  SocketDeadline(tcp::socket& sock, Duration timeout);
  SocketDeadline(const SocketDeadline&) = delete;
  SocketDeadline& operator=(const SocketDeadline&) = delete;

  // Await before this object goes away: stops the timer, and if it expired
  // with its handler still queued, lets that handler run first (it refers
  // to this object).
  awaitable<void> disarm();
  bool fired() const { return fired_; }

 private:
  tcp::socket& sock_;
  asio::steady_timer timer_;
  bool fired_ = false;
};

}  // namespace snigate::net
