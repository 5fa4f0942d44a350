#include "net/deadline.hpp"

namespace snigate::net {

SocketDeadline::SocketDeadline(tcp::socket& sock, Duration timeout) : sock_(sock), timer_(sock.get_executor(), timeout) {
  timer_.async_wait([this](std::error_code ec) {
    if (ec) return;  // disarmed first: this object may be gone, touch nothing
    fired_ = true;
    sock_.cancel();
  });
}

awaitable<void> SocketDeadline::disarm() {
  // cancel() finds nothing to cancel once the timer expired; unless its
  // handler already ran, it is queued ahead of this post.
  if (timer_.cancel() == 0 && !fired_) co_await asio::post(timer_.get_executor(), asio::use_awaitable);
}

}  // namespace snigate::net
