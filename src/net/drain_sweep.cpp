#include "net/drain_sweep.hpp"

#include <algorithm>

namespace snigate::net {

asio::execution_context::id DrainSweep::id;

DrainSweep::DrainSweep(asio::execution_context& ctx)
    : asio::execution_context::service(ctx), io_(static_cast<asio::io_context&>(ctx)) {
  timer_.emplace(io_.get_executor());
}

DrainSweep& DrainSweep::of(const asio::io_context::executor_type& ex) {
  return asio::use_service<DrainSweep>(ex.context());
}

void DrainSweep::add(Slot& slot, Clock::time_point deadline, Expire expire, void* owner) {
  if (shut_) return;
  if (slot.registered()) remove(slot);
  slot.index = entries_.size();
  entries_.push_back({deadline, expire, owner, &slot});
  if (!armed_for_ || deadline < *armed_for_) arm(deadline);
}

void DrainSweep::remove(Slot& slot) {
  if (!slot.registered() || shut_) return;
  const std::size_t i = slot.index;
  slot.index = Slot::kNone;
  if (i + 1 != entries_.size()) {
    entries_[i] = entries_.back();
    entries_[i].slot->index = i;
  }
  entries_.pop_back();
}

void DrainSweep::arm(Clock::time_point at) {
  armed_for_ = at;
  timer_->expires_at(at);
  timer_->async_wait([this](std::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // re-armed earlier, or shut down
    armed_for_.reset();
    fired();
  });
}

// Takes the entries that are due out first, then calls them: an expire may
// add or remove entries.
void DrainSweep::fired() {
  const auto now = Clock::now();
  std::vector<Entry> due;
  for (std::size_t i = 0; i < entries_.size();) {
    if (entries_[i].deadline <= now) {
      due.push_back(entries_[i]);
      remove(*entries_[i].slot);
    } else {
      ++i;
    }
  }
  for (const Entry& e : due) e.expire(e.owner);
  if (entries_.empty()) return;
  const auto next = std::min_element(entries_.begin(), entries_.end(),
                                     [](const Entry& a, const Entry& b) { return a.deadline < b.deadline; });
  if (!armed_for_ || next->deadline < *armed_for_) arm(next->deadline);
}

void DrainSweep::shutdown() {
  shut_ = true;
  for (const Entry& e : entries_) e.slot->index = Slot::kNone;
  entries_.clear();
  timer_.reset();
}

}  // namespace snigate::net
