#pragma once
// TCP keep-alive: finds peers that vanished (a host powered off, a NAT entry
// dropped) on connections that sit idle for long, such as pooled database
// sessions, without cutting the idle ones that are alive.
#include "net/asio.hpp"

namespace snigate::net {

// Traefik's default for dialKeepAlive, and what Go gives accepted sockets.
inline constexpr Duration kDefaultKeepAlive{15'000};

// Probes after `interval` of silence, then every `interval`; the kernel's
// probe count (tcp_keepalive_probes, 9 by default) decides when the peer is
// given up. An interval of zero or less turns keep-alive off. Rounded up to
// whole seconds, the kernel's unit. false: the kernel refused (errno set).
bool set_keep_alive(int fd, Duration interval);

}  // namespace snigate::net
