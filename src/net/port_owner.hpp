#pragma once
// Who holds a TCP port, for the message when an entry point cannot listen:
// "Address already in use" alone reads as a mystery on a shared machine.
#include <cstdint>
#include <string>

namespace snigate::net {

// "pid 1234 (nginx)" for each process with a socket listening on `port`
// (IPv4 or IPv6), joined by ", "; empty when none can be found (another
// network namespace, or /proc hides other users' processes).
std::string port_owner(std::uint16_t port);

}  // namespace snigate::net
