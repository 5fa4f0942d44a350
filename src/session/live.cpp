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

LiveHandle add_live(const observe::AccessRecord& rec, net::RelayWatch relay) {
  observe::OpenConnection c{std::string(rec.entry_point), rec.client, rec.sni, rec.mode, rec.router, rec.service,
                            rec.server, rec.bytes_in, rec.bytes_out, rec.start};
  std::list<LiveEntry>& live = mine();
  live.push_back(LiveEntry{std::move(c), std::move(relay)});
  return std::prev(live.end());
}

void remove_live(LiveHandle h) { mine().erase(h); }

void gather_live(std::vector<observe::OpenConnection>& out, std::size_t limit, std::size_t& total) {
  const std::list<LiveEntry>& live = mine();
  total += live.size();
  for (const LiveEntry& e : live) {
    if (out.size() >= limit) break;
    observe::OpenConnection c = e.info;
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
    observe::LiveTotals& t = into[e.info.router];
    ++t.open;
    std::uint64_t up = 0, down = 0;
    e.relay.progress(up, down);
    t.bytes_in += e.info.bytes_in + up;
    t.bytes_out += e.info.bytes_out + down;
  }
}

}  // namespace snigate::session
