"""A userspace delay line: a constant propagation delay for the transport emulation, without netem.

The kernels of the project machines have no ``netem`` qdisc (``shared/reference/emulation.md`` A.0), so the
transport emulation adds propagation delay with two TUN devices in its router namespace. Policy routing sends
every packet arriving from a sender's access link into TUN ``tdin``; this process
(``python -m netslice.network.emulation.delayline``, started by :mod:`.transport`) reads it, holds it for the
delay, and writes it to TUN ``tdout``. There it re-enters the router's routing as if received on ``tdout``,
and leaves through the shaped egress (HTB) towards the receivers. The delay is constant, so a FIFO keeps the
packets in order.

It is CPU-bound Python: meant for the modest rates of these tests (a few thousand packets per second). The
control protocol is :mod:`.traffic`'s (``d`` answers one row: the packets forwarded and dropped so far, ``q``
quits).
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import os
import selectors
import signal
import struct
import sys
import time
from array import array
from collections.abc import Sequence

from netslice.network.emulation.traffic import Commands, enter_netns, guard, write_rows

#: ``ioctl`` request and flags of a TUN device (linux/if_tun.h): layer-3 packets, no packet-information prefix.
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
#: Packets held at most (beyond this, new packets are dropped), about 5 MB of full-size frames.
MAX_HELD = 4096


def open_tun(name: str) -> int:
    """Create TUN device ``name`` in the current network namespace; its file descriptor (non-blocking)."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def run(delay_ms: float, source: str, sink: str) -> None:
    """Forward packets from TUN ``source`` to TUN ``sink`` after ``delay_ms``, until told to quit."""
    out = sys.stdout.buffer
    src, dst = open_tun(source), open_tun(sink)
    delay_ns = round(delay_ms * 1e6)
    held: collections.deque[tuple[int, bytes]] = collections.deque()
    forwarded = dropped = 0
    commands = Commands()
    selector = selectors.DefaultSelector()
    selector.register(commands.fd, selectors.EVENT_READ, "cmd")
    selector.register(src, selectors.EVENT_READ, "tun")
    write_rows(out, array("q"), 0)
    while True:
        timeout = max(0.0, (held[0][0] - time.monotonic_ns()) / 1e9) if held else None
        for key, _ in selector.select(timeout):
            if key.data == "tun":
                while True:
                    try:
                        packet = os.read(src, 65536)
                    except BlockingIOError:
                        break
                    if len(held) < MAX_HELD:
                        held.append((time.monotonic_ns() + delay_ns, packet))
                    else:
                        dropped += 1
                continue
            for command in commands.read():
                if command == "q":
                    return
                if command == "d":
                    write_rows(out, array("q", [forwarded, dropped]), 2)
        now = time.monotonic_ns()
        while held and held[0][0] <= now:
            try:
                os.write(dst, held.popleft()[1])
                forwarded += 1
            except OSError:  # the sink's queue is full: the packet is lost, as on a congested link
                dropped += 1


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of a delay-line process."""
    p = argparse.ArgumentParser(description="netslice emulation delay line")
    p.add_argument("--netns", required=True)
    p.add_argument("--comm", required=True)
    p.add_argument("--parent", type=int, required=True)
    p.add_argument("--delay-ms", type=float, required=True)
    p.add_argument("--source", default="tdin")
    p.add_argument("--sink", default="tdout")
    args = p.parse_args(argv)
    guard(args.comm, args.parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    enter_netns(args.netns)
    run(args.delay_ms, args.source, args.sink)


if __name__ == "__main__":
    main()
