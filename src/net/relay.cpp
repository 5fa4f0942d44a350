#include "net/relay.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "net/pipe_pool.hpp"

namespace snigate::net {
namespace {

constexpr std::size_t kCopyBuffer = 16 * 1024;
constexpr std::size_t kSpliceChunk = 64 * 1024;  // a default pipe's capacity

const char* side(bool from_client) { return from_client ? "client" : "server"; }

struct Shared {
  Clock::time_point last_activity = Clock::now();
  Clock::time_point first_eof{};
  int eofs = 0;
  RelayEnd end = RelayEnd::closed;
  std::string detail;
  int fds[2];

  // Ends both directions at once: a pending wait on either socket wakes up
  // and its next read sees EOF.
  void abort(RelayEnd why, std::string what) {
    if (end == RelayEnd::closed) {
      end = why;
      detail = std::move(what);
    }
    ::shutdown(fds[0], SHUT_RDWR);
    ::shutdown(fds[1], SHUT_RDWR);
  }
  asio::steady_timer* timer = nullptr;  // the watchdog's, to wake it on the first EOF

  bool finished[2] = {false, false};  // [from_client]: that side's EOF was passed on

  // A read error. A peer that resets after the other side finished (e.g. a
  // server that exits with the client's TLS close_notify unread, as
  // PostgreSQL does after Terminate) ended the conversation normally.
  void read_failed(bool from_client, std::string what) {
    if (finished[!from_client]) abort(RelayEnd::closed, what + " (after the " + side(!from_client) + " had finished)");
    else abort(RelayEnd::reset, std::move(what));
  }

  void eof(bool from_client) {
    finished[from_client] = true;
    if (eofs++ == 0) {
      first_eof = Clock::now();
      if (timer) timer->cancel();
    }
  }
};

awaitable<void> half_close(RelaySide& to) {
  if (to.tls) co_await to.tls->shutdown_write();
  else ::shutdown(to.sock.native_handle(), SHUT_WR);
}

awaitable<void> copy(RelaySide from, RelaySide to, std::uint64_t& bytes, Shared& sh, bool from_client) {
  auto buf = std::make_unique_for_overwrite<std::uint8_t[]>(kCopyBuffer);  // no zero-fill
  for (;;) {
    std::error_code ec;
    std::size_t n;
    if (from.tls) {
      n = co_await from.tls->read_some({buf.get(), kCopyBuffer}, ec);
    } else {
      auto [rec, rn] = co_await from.sock.async_read_some(asio::buffer(buf.get(), kCopyBuffer), nothrow);
      ec = rec;
      n = rn;
    }
    if (n == 0 || ec) {
      if (ec && ec != asio::error::eof && ec != asio::error::shut_down) {
        sh.read_failed(from_client, std::string(side(from_client)) + " read: " +
                                        (from.tls && !from.tls->error().empty() ? from.tls->error() : ec.message()));
        co_return;
      }
      sh.eof(from_client);
      co_await half_close(to);
      co_return;
    }
    bytes += n;
    sh.last_activity = Clock::now();
    if (to.tls) {
      co_await to.tls->write_all({buf.get(), n}, ec);
    } else {
      auto [wec, wn] = co_await asio::async_write(to.sock, asio::buffer(buf.get(), n), nothrow);
      ec = wec;
    }
    if (ec) {
      sh.abort(RelayEnd::reset, std::string(side(!from_client)) + " write: " +
                                    (to.tls && !to.tls->error().empty() ? to.tls->error() : ec.message()));
      co_return;
    }
  }
}

// Moves bytes socket -> pipe -> socket. The pipe is held only while it has
// bytes in it; waiting for the source to become readable, we hold none.
awaitable<void> splice_copy(RelaySide from, RelaySide to, std::uint64_t& bytes, Shared& sh, bool from_client) {
  PipePool& pool = PipePool::this_thread();
  const int in = from.sock.native_handle();
  const int out = to.sock.native_handle();
  for (;;) {
    Pipe pipe = pool.take();
    if (!pipe) {  // out of descriptors: copying still works
      co_await copy(from, to, bytes, sh, from_client);
      co_return;
    }
    const ssize_t n = ::splice(in, nullptr, pipe.write_fd, nullptr, kSpliceChunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pool.give(pipe);
      auto [ec] = co_await from.sock.async_wait(tcp::socket::wait_read, nothrow);
      if (ec) {
        sh.abort(RelayEnd::reset, std::string(side(from_client)) + ": " + ec.message());
        co_return;
      }
      continue;
    }
    if (n <= 0) {
      const int err = errno;
      pool.give(pipe);
      if (n < 0) {
        sh.read_failed(from_client, std::string(side(from_client)) + " read: " + std::strerror(err));
        co_return;
      }
      sh.eof(from_client);
      ::shutdown(out, SHUT_WR);
      co_return;
    }
    bytes += static_cast<std::uint64_t>(n);
    sh.last_activity = Clock::now();
    std::size_t left = static_cast<std::size_t>(n);
    while (left > 0) {
      const ssize_t m = ::splice(pipe.read_fd, nullptr, out, nullptr, left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m > 0) {
        left -= static_cast<std::size_t>(m);
        continue;
      }
      if (m < 0 && (errno == EAGAIN || errno == EINTR)) {
        auto [ec] = co_await to.sock.async_wait(tcp::socket::wait_write, nothrow);
        if (!ec) continue;
      }
      const int err = errno;
      PipePool::close(pipe);  // bytes still in it are lost with the connection
      sh.abort(RelayEnd::reset, std::string(side(!from_client)) + " write: " + std::strerror(err));
      co_return;
    }
    pool.give(pipe);
  }
}

awaitable<void> pump(RelaySide from, RelaySide to, std::uint64_t& bytes, Shared& sh, bool from_client) {
  if (!from.tls && !to.tls) co_await splice_copy(from, to, bytes, sh, from_client);
  else co_await copy(from, to, bytes, sh, from_client);
}

// Never returns by itself: it ends the relay by shutting the sockets, and is
// cancelled when both directions are done. The first EOF wakes it early, so
// terminationDelay is counted from that moment.
awaitable<void> watchdog(Shared& sh, RelayLimits limits) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  sh.timer = &timer;
  const bool delay_limited = limits.termination_delay.count() >= 0;
  bool aborted = false;
  for (;;) {
    const auto now = Clock::now();
    auto deadline = sh.last_activity + limits.idle;
    const bool draining = sh.eofs == 1 && delay_limited;
    if (draining) deadline = std::min(deadline, sh.first_eof + limits.termination_delay);
    if (!aborted && now >= deadline) {
      aborted = true;
      if (draining && now >= sh.first_eof + limits.termination_delay) sh.abort(RelayEnd::termination_delay, "");
      else sh.abort(RelayEnd::idle_timeout, "");
    }
    timer.expires_at(aborted ? now + std::chrono::hours(24) : deadline);
    co_await timer.async_wait(nothrow);
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) break;
  }
  sh.timer = nullptr;
}

}  // namespace

awaitable<RelayResult> relay(RelaySide client, RelaySide server, RelayLimits limits) {
  using namespace asio::experimental::awaitable_operators;
  Shared sh;
  sh.fds[0] = client.sock.native_handle();
  sh.fds[1] = server.sock.native_handle();
  RelayResult result;
  co_await ((pump(client, server, result.up, sh, true) && pump(server, client, result.down, sh, false)) ||
            watchdog(sh, limits));
  result.end = sh.end;
  result.detail = std::move(sh.detail);
  co_return result;
}

const char* to_string(RelayEnd e) {
  switch (e) {
    case RelayEnd::closed: return "closed";
    case RelayEnd::idle_timeout: return "idle_timeout";
    case RelayEnd::termination_delay: return "termination_delay";
    case RelayEnd::reset: return "reset";
  }
  return "?";
}

}  // namespace snigate::net
