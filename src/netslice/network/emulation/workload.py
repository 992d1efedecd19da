"""The edge server process: a real per-request workload, run inside a slice's CPU cgroup.

``python -m netslice.network.emulation.workload`` (started by :mod:`.edge`, not by hand) enters the edge
namespace, moves itself into its slice's cgroup, and serves UDP requests on ``127.0.0.1:<port>`` there. Each
request is one frame of a mobile-augmented-reality stream to process: the Sobel gradient magnitude of a
grayscale frame (default 480 x 640, about 2 ms of CPU on the project machines), thresholded into an edge
count. Requests are the datagrams of a :mod:`.traffic` sender (sequence number and send time in the payload),
served one at a time in arrival order.

Log rows (int64): ``(seq, send_ns, start_ns, end_ns, cpu_ns)``: when the request was sent, when its processing
began and ended (``CLOCK_MONOTONIC``, the same clock as the sender's), and the CPU time it used (the thread's
CPU clock). ``end - start`` is the service time (CPU time plus the time the group was throttled or preempted
meanwhile), ``end - send`` the response time (waiting included). The control protocol is :mod:`.traffic`'s.
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import socket
import sys
import time
from array import array
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from netslice.network.emulation.traffic import HEADER, RCVBUF, Commands, enter_netns, guard, write_rows

#: Edge count threshold of the gradient magnitude (8-bit intensities).
EDGE_THRESHOLD = 200.0


def sobel_edges(frame: NDArray[np.float32]) -> int:
    """Number of pixels whose Sobel gradient magnitude exceeds :data:`EDGE_THRESHOLD` (the per-request work).

    Example:
        >>> frame = np.zeros((4, 4), dtype=np.float32)
        >>> frame[:, 2:] = 255.0  # a vertical edge
        >>> sobel_edges(frame)
        4
    """
    f = frame
    gx = (f[:-2, 2:] + 2 * f[1:-1, 2:] + f[2:, 2:]) - (f[:-2, :-2] + 2 * f[1:-1, :-2] + f[2:, :-2])
    gy = (f[2:, :-2] + 2 * f[2:, 1:-1] + f[2:, 2:]) - (f[:-2, :-2] + 2 * f[:-2, 1:-1] + f[:-2, 2:])
    return int(np.count_nonzero(np.hypot(gx, gy) > EDGE_THRESHOLD))


def serve(port: int, height: int, width: int) -> None:
    """Serve requests on UDP ``127.0.0.1:port`` until told to quit (see the module docstring)."""
    out = sys.stdout.buffer
    frame = np.random.default_rng(0).integers(0, 256, (height, width)).astype(np.float32)
    for _ in range(3):  # warm-up: page in the arrays
        sobel_edges(frame)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    sock.bind(("127.0.0.1", port))
    sock.setblocking(False)
    buf = bytearray(2048)
    log: array[int] = array("q")
    commands = Commands()
    selector = selectors.DefaultSelector()
    selector.register(commands.fd, selectors.EVENT_READ, "cmd")
    selector.register(sock, selectors.EVENT_READ, "sock")
    write_rows(out, log, 0)
    while True:
        for key, _ in selector.select():
            if key.data == "sock":
                # One request per turn, so that commands are answered even when requests keep coming.
                try:
                    n = sock.recv_into(buf)
                except BlockingIOError:
                    continue
                start, cpu = time.monotonic_ns(), time.thread_time_ns()
                sobel_edges(frame)
                end, cpu = time.monotonic_ns(), time.thread_time_ns() - cpu
                if n >= HEADER.size:
                    seq, sent = HEADER.unpack_from(buf, 0)
                    log.extend((seq, sent, start, end, cpu))
                continue
            for command in commands.read():
                if command == "q":
                    return
                if command == "d":
                    write_rows(out, log, 5)
                    log = array("q")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of an edge server process."""
    p = argparse.ArgumentParser(description="netslice emulation edge server")
    p.add_argument("--netns", required=True)
    p.add_argument("--comm", required=True)
    p.add_argument("--parent", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cgroup", required=True, help="the cgroup folder to join")
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--width", type=int, default=640)
    args = p.parse_args(argv)
    guard(args.comm, args.parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(os.path.join(args.cgroup, "cgroup.procs"), "w") as f:
        f.write(f"{os.getpid()}\n")
    enter_netns(args.netns)
    serve(args.port, args.height, args.width)


if __name__ == "__main__":
    main()
