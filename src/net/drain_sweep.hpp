#pragma once
// Short deadlines that are nearly always beaten, all on one timer per
// io_context: a relay's terminationDelay after one side's end, which the
// other side's end almost always comes before. A timer of its own per
// connection would be the reactor's earliest each time it is armed, and
// arming the earliest timer costs a timerfd_settime, which reprograms the
// CPU's timer (on a virtual machine, an exit to the host). Here a deadline
// is an entry in a vector; the one timer is armed only when a deadline comes
// before the one it is armed for, or after it fired.
#include <cstddef>
#include <optional>
#include <vector>

#include "net/asio.hpp"

namespace snigate::net {

class DrainSweep : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;

  // Where an owner's entry is; the sweep keeps it current as entries move.
  struct Slot {
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::size_t index = kNone;
    bool registered() const { return index != kNone; }
  };
  using Expire = void (*)(void* owner);

  explicit DrainSweep(asio::execution_context& ctx);

  // The sweep of the io_context that runs ex's handlers.
  static DrainSweep& of(const asio::io_context::executor_type& ex);

  // Calls expire(owner) on the io_context's thread once deadline has passed,
  // unless remove(slot) comes first. The owner must call remove() before it
  // goes away; an entry that expired is removed before expire runs.
  void add(Slot& slot, Clock::time_point deadline, Expire expire, void* owner);
  void remove(Slot& slot);

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Clock::time_point deadline;
    Expire expire;
    void* owner;
    Slot* slot;
  };
  using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>;

  void shutdown() override;
  void arm(Clock::time_point at);
  void fired();

  asio::io_context& io_;
  std::optional<Timer> timer_;
  std::optional<Clock::time_point> armed_for_;  // none: the timer is not waiting
  std::vector<Entry> entries_;
  bool shut_ = false;
};

}  // namespace snigate::net
