#include "session/throttle.hpp"

namespace snigate::session {

Throttle::Throttle(asio::io_context& io, std::chrono::milliseconds every, std::function<void()> apply)
    : timer_(io), every_(every), apply_(std::move(apply)) {}

void Throttle::poke() {
  if (pending_) return;  // the apply already due takes this change too
  pending_ = true;
  timer_.expires_at(std::max(std::chrono::steady_clock::now(), last_ + every_));
  timer_.async_wait([this](const std::error_code& ec) {
    if (ec) return;
    pending_ = false;
    last_ = std::chrono::steady_clock::now();
    apply_();
  });
}

}  // namespace snigate::session
