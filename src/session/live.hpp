#pragma once
// The connections each worker is relaying, for the API's list of open
// connections: added when the relay starts, removed when it ends, and read by
// a task posted to the worker, so everything happens on the worker's own
// thread and nothing is locked. Kept only while the API is served.
#include <cstddef>
#include <list>
#include <vector>

#include "net/relay.hpp"
#include "observe/connections.hpp"
#include "observe/log.hpp"

namespace snigate::session {

struct LiveEntry {
  observe::OpenConnection info;  // bytes: those before the relay
  net::RelayWatch relay;
};
using LiveHandle = std::list<LiveEntry>::iterator;

void enable_live_connections();
bool live_connections_enabled();

// On the worker that relays the connection.
LiveHandle add_live(const observe::AccessRecord& rec, net::RelayWatch relay);
void remove_live(LiveHandle h);

// On a worker's thread: appends up to limit of its connections (oldest
// first, bytes up to now) to out, and adds how many it has to total.
void gather_live(std::vector<observe::OpenConnection>& out, std::size_t limit, std::size_t& total);

// On a worker's thread: adds its connections to the sums per router.
void sum_live(observe::LiveByRouter& into);

}  // namespace snigate::session
