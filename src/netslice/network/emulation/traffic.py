"""Traffic generator and receiver processes of the transport emulation.

Each slice has one sender process in its own namespace and one receiver process in the receiver namespace.
Both run ``python -m netslice.network.emulation.traffic`` (:func:`main`); the parent (see :mod:`.transport`)
drives them through their stdin and reads their logs from their stdout.

* The sender sends UDP datagrams of a fixed payload size at an offered payload rate, constant-bit-rate or
  Poisson. Each payload starts with its sequence number and its send time (``CLOCK_MONOTONIC`` ns, read just
  before ``sendto``), both little-endian int64. Its log rows are ``(seq, send_ns)``.
* The receiver logs every datagram as ``(seq, send_ns, recv_ns, payload_bytes)``, ``recv_ns`` read just after
  ``recv``. One-way delay from these two clocks is valid because both processes run on the same machine and
  read the same ``CLOCK_MONOTONIC`` (namespaces do not separate clocks); see :mod:`.measure`.

Control protocol, one command per line on stdin: ``d`` (dump: write the log rows collected since the last dump
and forget them), ``r <Mbit/s>`` (sender: change the offered rate), ``q`` (quit). Every answer on stdout is a
16-byte header ``(rows, columns)`` (little-endian int64) followed by ``rows x columns`` int64; the first answer,
with no rows, says the worker is ready.

Safety: a worker enters its namespace itself (``setns``), names itself (``comm`` ``nse<owner>-<role>``, see
:mod:`.owner`) and asks the kernel to SIGKILL it when its parent dies (``PR_SET_PDEATHSIG``), so a SIGKILLed run
does not leave traffic running; whatever still survives is found by its name or namespace and removed.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import random
import selectors
import signal
import socket
import struct
import sys
import time
from array import array
from collections.abc import Sequence
from typing import IO

#: ``setns(2)`` namespace type, ``prctl(2)`` options (linux/sched.h, linux/prctl.h).
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
#: Payload header: sequence number, send time (ns), little-endian int64.
HEADER = struct.Struct("<qq")
#: The sender resets its schedule when it falls this far behind (a stall does not turn into a burst), ns.
MAX_LAG_NS = 20_000_000
#: Receive buffer of the receiver socket, bytes.
RCVBUF = 4 << 20


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def enter_netns(name: str) -> None:
    """Move the calling thread (the whole process, if it has one thread) into the named network namespace."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc().setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


def guard(comm: str, parent: int) -> None:
    """Name this process ``comm`` and have it SIGKILLed when ``parent`` dies; exit if it already has."""
    libc = _libc()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the prctl
        os._exit(1)
    libc.prctl(PR_SET_NAME, comm.encode()[:15], 0, 0, 0)


def write_rows(out: IO[bytes], rows: array[int], columns: int) -> None:
    """Write one answer: the header, then the rows (see the module docstring)."""
    out.write(struct.pack("<qq", len(rows) // columns if columns else 0, columns))
    out.write(rows.tobytes())
    out.flush()


def read_rows(stream: IO[bytes]) -> tuple[int, int, bytes]:
    """Read one answer: ``(rows, columns, data)``; raises EOFError if the worker is gone."""
    head = stream.read(16)
    if len(head) < 16:
        raise EOFError("the traffic worker exited")
    rows, columns = struct.unpack("<qq", head)
    size = rows * columns * 8
    data = stream.read(size) if size else b""
    if len(data) < size:
        raise EOFError("the traffic worker exited mid-answer")
    return rows, columns, data


class Commands:
    """Lines from stdin, read without blocking."""

    def __init__(self) -> None:
        self.fd = sys.stdin.fileno()
        os.set_blocking(self.fd, False)
        self.buffer = b""

    def read(self) -> list[str]:
        """The complete lines received since the last call (``q`` once stdin is closed)."""
        try:
            chunk = os.read(self.fd, 4096)
        except BlockingIOError:
            return []
        if not chunk:
            return ["q"]  # the parent closed our stdin
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode().strip() for line in lines if line.strip()]


def send(dst: str, port: int, rate_mbps: float, packet_bytes: int, poisson: bool, seed: int, tos: int) -> None:
    """Send to ``dst:port`` at ``rate_mbps`` of payload until told to quit (see the module docstring)."""
    out = sys.stdout.buffer
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if tos:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
    sock.connect((dst, port))
    payload = bytearray(max(packet_bytes, HEADER.size))
    rng = random.Random(seed)
    log: array[int] = array("q")
    commands = Commands()
    selector = selectors.DefaultSelector()
    selector.register(commands.fd, selectors.EVENT_READ)
    write_rows(out, log, 0)
    seq = 0
    interval = packet_bytes * 8e3 / rate_mbps if rate_mbps > 0 else 0.0  # ns between datagrams
    next_ns = float(time.monotonic_ns())
    while True:
        now = time.monotonic_ns()
        if interval > 0:
            if now - next_ns > MAX_LAG_NS:
                next_ns = float(now)
            while next_ns <= now:
                t = time.monotonic_ns()
                HEADER.pack_into(payload, 0, seq, t)
                try:
                    sock.send(payload)
                except OSError:  # ENOBUFS and the like: this datagram was not offered
                    pass
                else:
                    log.append(seq)
                    log.append(t)
                    seq += 1
                next_ns += rng.expovariate(1.0 / interval) if poisson else interval
            timeout = max(0.0, (next_ns - time.monotonic_ns()) / 1e9)
        else:
            timeout = 1.0
        if not selector.select(timeout):
            continue
        for command in commands.read():
            if command == "q":
                return
            if command == "d":
                write_rows(out, log, 2)
                log = array("q")
            elif command.startswith("r "):
                rate_mbps = float(command.split()[1])
                interval = packet_bytes * 8e3 / rate_mbps if rate_mbps > 0 else 0.0
                next_ns = float(time.monotonic_ns())


def receive(port: int) -> None:
    """Log every datagram arriving on UDP ``port`` until told to quit (see the module docstring)."""
    out = sys.stdout.buffer
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    sock.bind(("0.0.0.0", port))
    sock.setblocking(False)
    buf = bytearray(65536)
    log: array[int] = array("q")
    commands = Commands()
    selector = selectors.DefaultSelector()
    selector.register(commands.fd, selectors.EVENT_READ, "cmd")
    selector.register(sock, selectors.EVENT_READ, "sock")
    write_rows(out, log, 0)
    while True:
        for key, _ in selector.select():
            if key.data == "sock":
                while True:
                    try:
                        n = sock.recv_into(buf)
                    except BlockingIOError:
                        break
                    t = time.monotonic_ns()
                    if n >= HEADER.size:
                        seq, sent = HEADER.unpack_from(buf, 0)
                        log.extend((seq, sent, t, n))
                continue
            for command in commands.read():
                if command == "q":
                    return
                if command == "d":
                    write_rows(out, log, 4)
                    log = array("q")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of a worker process (run by :mod:`.transport`, not by hand)."""
    p = argparse.ArgumentParser(description="netslice emulation traffic worker")
    p.add_argument("mode", choices=("send", "recv"))
    p.add_argument("--netns", required=True)
    p.add_argument("--comm", required=True)
    p.add_argument("--parent", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dst", default="")
    p.add_argument("--rate-mbps", type=float, default=0.0)
    p.add_argument("--packet-bytes", type=int, default=1200)
    p.add_argument("--poisson", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tos", type=int, default=0)
    args = p.parse_args(argv)
    guard(args.comm, args.parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us (Ctrl-C goes to the whole group)
    enter_netns(args.netns)
    if args.mode == "send":
        send(args.dst, args.port, args.rate_mbps, args.packet_bytes, args.poisson, args.seed, args.tos)
    else:
        receive(args.port)


if __name__ == "__main__":
    main()
