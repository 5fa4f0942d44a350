#pragma once
// One client connection, from accept to the access-log line.
#include <atomic>
#include <memory>
#include <string>

#include "net/asio.hpp"
#include "session/snapshot.hpp"

namespace snigate::session {

// client: non-blocking, TCP_NODELAY set; peer: its address, from accept.
net::awaitable<void> serve(net::tcp::socket client, net::tcp::endpoint peer, std::shared_ptr<const Snapshot> snap,
                           const EntryRoutes& entry);

// Open connections, all workers together (for draining on SIGTERM).
extern std::atomic<long> open_connections;

}  // namespace snigate::session
