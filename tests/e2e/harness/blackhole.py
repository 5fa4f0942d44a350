"""A TCP address that never answers a SYN: a listening socket with backlog 0 that is never
accepted from, its one-place accept queue filled by a connection first. Linux then drops further
SYNs (with net.ipv4.tcp_abort_on_overflow = 0, the default) instead of refusing them, so a
connect to it neither succeeds nor fails until the caller gives up: what a server behind a
firewall that drops packets looks like, without leaving 127.0.0.1."""
from __future__ import annotations

import select
import socket
from dataclasses import dataclass, field

from .util import LOCALHOST


@dataclass
class Blackhole:
    listener: socket.socket
    port: int
    filler: list = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    def close(self) -> None:
        for s in self.filler:
            s.close()
        self.listener.close()


def syn_is_dropped(port: int, wait: float = 0.5) -> tuple[bool, str]:
    """Whether a non-blocking connect to port stays pending for `wait` seconds."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setblocking(False)
    try:
        try:
            probe.connect((LOCALHOST, port))
        except BlockingIOError:
            pass
        _, writable, _ = select.select([], [probe], [], wait)
        err = probe.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if writable:
            return False, f"connect finished within {wait}s (error {err})"
        return True, "pending"
    finally:
        probe.close()


def start_blackhole() -> Blackhole:
    """A listener whose accept queue is full; raises RuntimeError if this kernel answers a
    further SYN (then a network namespace with a dropping route is needed instead)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOCALHOST, 0))
    listener.listen(0)
    hole = Blackhole(listener, listener.getsockname()[1])
    try:
        # backlog 0 still queues one connection; a second keeps re-sending its SYN.
        for _ in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((LOCALHOST, hole.port))
            except BlockingIOError:
                pass
            hole.filler.append(s)
        select.select([], hole.filler[:1], [], 2.0)  # the first one completes at once
        dropped, why = syn_is_dropped(hole.port)
        if not dropped:
            raise RuntimeError(f"a SYN to a listener with a full accept queue was not dropped: {why} "
                               "(net.ipv4.tcp_abort_on_overflow set?)")
        return hole
    except BaseException:
        hole.close()
        raise
