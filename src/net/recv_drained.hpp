#pragma once
// A read that says whether it left the socket drained, so that the next wait
// on it can skip the epoll re-arm (net::reactor_recv, for a client's first
// bytes).
//
// A recv(2) shorter than asked for is not proof: the kernel hands over the
// bytes before a FIN and takes the FIN with them, reporting it only to the
// next read. Its edge came before the read, and no other will; a wait that
// trusts the short read never ends. TCP_INQ makes the kernel say, with each
// read, how much is left, and counts a FIN as something left.
#include <sys/types.h>

#include <cstddef>

namespace snigate::net {

// Turns TCP_INQ on. Set on a listener, every socket accepted from it inherits
// it. Best effort: without it recv_drained never says drained.
void enable_read_left(int fd);

// ::recv (same result, errno set); drained is true only when bytes were read
// and neither a byte nor the peer's FIN is left behind them (the socket has
// TCP_INQ). Then whatever comes next, bytes or FIN, brings an epoll edge of
// its own.
ssize_t recv_drained(int fd, void* buf, std::size_t len, bool& drained);

}  // namespace snigate::net
