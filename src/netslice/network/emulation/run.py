"""What every emulation run shares: its owner and lifecycle (clean-up on exit, error and SIGTERM), its workers.

:class:`OwnedRun` is the base of :class:`.transport.TransportEmulation` and :class:`.edge.EdgeEmulation`. On
:meth:`~OwnedRun.start` it removes dead runs' leftovers, takes an owner id (see :mod:`.owner`), arms the
clean-up (``atexit``, and SIGTERM turned into ``SystemExit`` in the main thread), then builds; on any failure
while building, it removes what was built. :meth:`~OwnedRun.close` stops the workers, then removes every
process, namespace, cgroup and record of the owner.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from netslice.network.emulation.owner import EmulationError, Owner, clean_stale, remove_owner
from netslice.network.emulation.traffic import read_rows

#: How long a worker may take to answer (its start-up included), s.
READ_TIMEOUT_S = 30.0


def ip(*args: str) -> None:
    """Run ``ip ARGS``; raise :class:`EmulationError` with its message if it fails."""
    p = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise EmulationError(f"ip {' '.join(args)}: {p.stderr.strip()}")


@dataclass
class Worker:
    """A worker process (traffic sender, receiver, edge server) and the log rows it has answered.

    The protocol is :mod:`.traffic`'s: commands on stdin, ``(rows, columns)`` answers on stdout.
    """

    proc: subprocess.Popen[bytes]
    columns: int
    rows: list[NDArray[np.int64]] = field(default_factory=list)

    def command(self, line: str) -> None:
        """Send one command line."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def read(self, timeout_s: float = READ_TIMEOUT_S) -> None:
        """Read one answer and keep its rows; raise :class:`EmulationError` if none comes within ``timeout_s``."""
        assert self.proc.stdout is not None
        # Every answer is read in full before the next command, so nothing of this one can be buffered yet.
        if not select.select([self.proc.stdout], [], [], timeout_s)[0]:
            raise EmulationError(f"worker {self.proc.args!r} gave no answer within {timeout_s:g} s")
        try:
            n, columns, data = read_rows(self.proc.stdout)
        except EOFError as e:
            err = self.proc.stderr.read().decode(errors="replace").strip() if self.proc.stderr else ""
            raise EmulationError(f"worker {self.proc.args!r} failed: {err or e}") from e
        if n:
            self.rows.append(np.frombuffer(data, dtype=np.int64).reshape(n, columns))

    def log(self) -> NDArray[np.int64]:
        """All rows read so far, ``(n, columns)``."""
        if len(self.rows) != 1:
            self.rows = [np.concatenate(self.rows) if self.rows else np.zeros((0, self.columns), np.int64)]
        return self.rows[0]

    def stop(self) -> None:
        """Ask the worker to quit; kill it if it has not after 1 s."""
        with contextlib.suppress(OSError, ValueError):
            self.command("q")
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class OwnedRun:
    """Base of the emulations: owner, lifecycle and workers (see the module docstring); a context manager.

    Subclasses implement :meth:`_build` and may extend :meth:`_release`; they keep their workers in
    :attr:`workers`.
    """

    def __init__(self, clean_leftovers: bool = True) -> None:
        self.clean_leftovers = clean_leftovers
        self.owner: Owner | None = None
        self.workers: list[Worker] = []
        self._previous_sigterm: Any = None
        self._closed = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Take an owner id and build; on any failure (SIGTERM included), remove what was built and re-raise."""
        if self.owner is not None:
            raise EmulationError("this emulation was already started")
        if self.clean_leftovers:
            clean_stale()
        self.owner = Owner.create()
        atexit.register(self.close)
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        """Release what the run holds besides its workers and owned objects (e.g. netlink sockets)."""

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self.owner is None or os.getpid() != self.owner.pid:
            # A forked copy of this process (pyroute2 forks helpers and stops them with SIGTERM) must not unwind
            # the owner's stack, which would tear the run down from the copy: die as SIGTERM's default would.
            os._exit(128 + signum)
        raise SystemExit(128 + signum)  # unwinds through __exit__ / finally, which remove everything

    @property
    def running(self) -> bool:
        """Whether the run is started and not closed."""
        return self.owner is not None and not self._closed

    def close(self) -> None:
        """Stop the workers and remove every process, namespace, cgroup and record of the run (idempotent)."""
        if self._closed or self.owner is None or os.getpid() != self.owner.pid:
            return  # not started, already closed, or a forked copy of the owner (which owns nothing)
        self._closed = True
        for worker in self.workers:
            worker.stop()
        with contextlib.suppress(Exception):
            self._release()
        remove_owner(self.owner.id)
        atexit.unregister(self.close)
        if self._previous_sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous_sigterm)

    def collect(self) -> None:
        """Fetch the logs every worker gathered since the last collection (all asked first, then all read)."""
        for worker in self.workers:
            worker.command("d")
        for worker in self.workers:
            worker.read()

    def netns(self, role: str) -> str:
        """Name of this run's namespace ``role``."""
        if self.owner is None:
            raise EmulationError("the emulation is not started")
        return self.owner.netns(role)

    def spawn(self, module: str, role: str, netns: str, args: list[str], columns: int) -> Worker:
        """Start worker ``python -m MODULE ARGS`` in namespace ``netns``, named after the owner and ``role``.

        Its ready answer is not read here: call :meth:`Worker.read` (after starting several, to overlap their
        start-up).
        """
        assert self.owner is not None
        command = [sys.executable, "-m", module, *args, "--netns", netns, "--comm", self.owner.comm(role),
                   "--parent", str(self.owner.pid)]  # fmt: skip
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        worker = Worker(proc, columns)
        self.workers.append(worker)
        return worker
