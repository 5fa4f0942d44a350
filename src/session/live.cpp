#include "session/live.hpp"

#include <atomic>

namespace snigate::session {
namespace {

std::atomic<bool> enabled{false};

std::list<LiveEntry>& mine() {
  thread_local std::list<LiveEntry> live;
  return live;
}

}  // namespace

void enable_live_connections() { enabled.store(true, std::memory_order_release); }
bool live_connections_enabled() { return enabled.load(std::memory_order_relaxed); }

LiveHandle add_live(const observe::AccessRecord& rec) {
  std::list<LiveEntry>& live = mine();
  live.push_back(LiveEntry{&rec, {}});
  return std::prev(live.end());
}

void remove_live(LiveHandle h) { mine().erase(h); }

void gather_live(std::vector<observe::OpenConnection>& out, std::size_t limit, std::size_t& total) {
  const std::list<LiveEntry>& live = mine();
  total += live.size();
  for (const LiveEntry& e : live) {
    if (out.size() >= limit) break;
    const observe::AccessRecord& r = *e.rec;
    observe::OpenConnection c{std::string(r.entry_point), r.client, r.sni, r.mode, r.router, r.service,
                              r.server, r.bytes_in, r.bytes_out, r.start};
    std::uint64_t up = 0, down = 0;
    if (e.relay.progress(up, down)) {
      c.bytes_in += up;
      c.bytes_out += down;
    }
    out.push_back(std::move(c));
  }
}

void sum_live(observe::LiveByRouter& into) {
  for (const LiveEntry& e : mine()) {
    observe::LiveTotals& t = into[e.rec->router];
    ++t.open;
    std::uint64_t up = 0, down = 0;
    e.relay.progress(up, down);
    t.bytes_in += e.rec->bytes_in + up;
    t.bytes_out += e.rec->bytes_out + down;
  }
}

}  // namespace snigate::session
