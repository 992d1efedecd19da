"""The edge emulation: one CPU cgroup per slice with a CFS quota, a real per-request workload, measured times.

Each slice has an edge server (:mod:`.workload`: a Sobel edge map of a 480 x 640 frame per request, about 2 ms
of CPU) inside its own cgroup (:mod:`.cgroup`: v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), whose quota is the
slice's edge share in CPU cores (:meth:`EdgeEmulation.set_quota`, effective within one CFS period). A request
generator (a :mod:`.traffic` sender, Poisson or periodic, outside the cgroups) sends the slice's requests over
UDP loopback. Servers and generators all live in the run's namespace ``nse-<owner>-edge``, so the requests stay
inside it. Everything is removed as for the transport emulation (see :mod:`.run`).

Per slice and window (:func:`edge_window_stats`): requests sent and completed, service time (processing start to
end) and response time (send to end) percentiles, CPU time per request, the CPU cores the server used, and how
long the cgroup was throttled.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.emulation.cgroup import PERIOD_US, CpuCgroup
from netslice.network.emulation.owner import EmulationError
from netslice.network.emulation.run import OwnedRun, Worker, ip
from netslice.network.emulation.transport import TRAFFIC

#: The edge server's module.
WORKLOAD = "netslice.network.emulation.workload"
#: Payload of a request datagram, bytes (sequence number and send time, padded).
REQUEST_BYTES = 64


@dataclass(frozen=True)
class EdgeSlice:
    """One slice's edge server.

    Attributes:
        name: the slice's name (unique in a config).
        cpu_cores: the cgroup's CPU quota in cores (quota / period); None for no cap.
        period_ms: the CFS period, ms.
    """

    name: str
    cpu_cores: float | None
    period_ms: float = PERIOD_US / 1000

    def __post_init__(self) -> None:
        if self.cpu_cores is not None and not self.cpu_cores > 0:
            raise ValueError(f"slice {self.name}: cpu_cores must be > 0 or None, got {self.cpu_cores}")
        if not 1.0 <= self.period_ms <= 1000.0:
            raise ValueError(f"slice {self.name}: period_ms must be in [1, 1000], got {self.period_ms}")


@dataclass(frozen=True)
class EdgeConfig:
    """The emulated edge servers.

    Attributes:
        slices: one server per slice (slice ``k`` listens on ``base_port + k``).
        frame: height and width of the frame each request processes, pixels.
        base_port: UDP port of slice 0's server.
        clean_leftovers: remove dead runs' leftovers before starting.
    """

    slices: tuple[EdgeSlice, ...]
    frame: tuple[int, int] = (480, 640)
    base_port: int = 8000
    clean_leftovers: bool = True

    def __post_init__(self) -> None:
        names = [s.name for s in self.slices]
        if not 0 < len(names) <= 200 or len(set(names)) != len(names):
            raise ValueError(f"between 1 and 200 slices with unique names, got {names}")


@dataclass(frozen=True)
class EdgeWindowStats:
    """One slice's edge KPIs over one window.

    Attributes:
        slice: the slice's name.
        duration_s: the window's length, s.
        sent: requests sent in the window.
        completed: requests whose processing ended in the window.
        service_p50_ms: median service time (processing start to end), ms (NaN without requests).
        service_p99_ms: 99th percentile of the service time, ms.
        response_p50_ms: median response time (sent to processing end), ms.
        response_p90_ms: 90th percentile of the response time, ms.
        response_p99_ms: 99th percentile of the response time, ms.
        cpu_ms_mean: mean CPU time per request, ms.
        cpu_cores: CPU time of the completed requests per second of window, cores.
        throttled_ms: time the slice's cgroup was throttled in the window, ms (from its ``cpu.stat``).
        unserved: fraction of the requests sent in the window not completed by collection time.
    """

    slice: str
    duration_s: float
    sent: int
    completed: int
    service_p50_ms: float
    service_p99_ms: float
    response_p50_ms: float
    response_p90_ms: float
    response_p99_ms: float
    cpu_ms_mean: float
    cpu_cores: float
    throttled_ms: float
    unserved: float

    def as_dict(self) -> dict[str, float | int | str | None]:
        """Plain data for JSON (NaN as None)."""
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(self).items()}


def edge_window_stats(
    name: str, sent: NDArray[np.int64], served: NDArray[np.int64], t0_ns: int, t1_ns: int, throttled_ms: float = 0.0
) -> EdgeWindowStats:
    """Edge KPIs of one slice in ``[t0_ns, t1_ns)``.

    Args:
        name: the slice's name.
        sent: the request generator's ``(n, 2)`` log, rows ``(seq, send_ns)``.
        served: the server's ``(m, 5)`` log, rows ``(seq, send_ns, start_ns, end_ns, cpu_ns)``.
        t0_ns: window start, ``CLOCK_MONOTONIC`` ns.
        t1_ns: window end (excluded), ns.
        throttled_ms: the cgroup's throttled time in the window, ms.

    Example:
        >>> ms = 1_000_000
        >>> sent = np.array([[0, 0], [1, 10 * ms]], dtype=np.int64)
        >>> served = np.array([[0, 0, 1 * ms, 3 * ms, 2 * ms]], dtype=np.int64)
        >>> s = edge_window_stats("mar", sent, served, 0, 100 * ms)
        >>> s.completed, s.service_p50_ms, s.response_p50_ms, s.cpu_cores, s.unserved
        (1, 2.0, 3.0, 0.02, 0.5)
    """
    if t1_ns <= t0_ns:
        raise ValueError(f"empty window [{t0_ns}, {t1_ns})")
    duration = (t1_ns - t0_ns) / 1e9
    done = served[(served[:, 3] >= t0_ns) & (served[:, 3] < t1_ns)]
    service = (done[:, 3] - done[:, 2]) / 1e6
    response = (done[:, 3] - done[:, 1]) / 1e6
    n_sent = int(np.count_nonzero((sent[:, 1] >= t0_ns) & (sent[:, 1] < t1_ns)))
    n_served = int(np.count_nonzero((served[:, 1] >= t0_ns) & (served[:, 1] < t1_ns)))
    nan = float("nan")
    if done.size:
        s50, s99 = (float(x) for x in np.percentile(service, [50, 99]))
        r50, r90, r99 = (float(x) for x in np.percentile(response, [50, 90, 99]))
        cpu_mean = float(done[:, 4].mean()) / 1e6
    else:
        s50 = s99 = r50 = r90 = r99 = cpu_mean = nan
    return EdgeWindowStats(
        slice=name,
        duration_s=duration,
        sent=n_sent,
        completed=len(done),
        service_p50_ms=s50,
        service_p99_ms=s99,
        response_p50_ms=r50,
        response_p90_ms=r90,
        response_p99_ms=r99,
        cpu_ms_mean=cpu_mean,
        cpu_cores=float(done[:, 4].sum()) / 1e9 / duration,
        throttled_ms=throttled_ms,
        unserved=max(0.0, 1.0 - n_served / n_sent) if n_sent else 0.0,
    )


class EdgeEmulation(OwnedRun):
    """A running edge emulation (see the module docstring); use it as a context manager.

    Example (needs root and a CPU cgroup interface; see :func:`.preflight.preflight`)::

        config = EdgeConfig(slices=(EdgeSlice("mar", cpu_cores=0.5), EdgeSlice("v2x", cpu_cores=0.2)))
        with EdgeEmulation(config) as emu:
            emu.start_requests("mar", rate_per_s=100.0)
            stats = emu.measure(2.0)  # {"mar": EdgeWindowStats(...), "v2x": ...}
            emu.set_quota("mar", 0.3)
    """

    def __init__(self, config: EdgeConfig) -> None:
        super().__init__(config.clean_leftovers)
        self.config = config
        self._index = {s.name: k for k, s in enumerate(config.slices)}
        self.cgroups: dict[str, CpuCgroup] = {}
        self._servers: dict[str, Worker] = {}
        self._clients: dict[str, Worker] = {}

    def _build(self) -> None:
        assert self.owner is not None
        ns = self.netns("edge")
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        height, width = self.config.frame
        for k, s in enumerate(self.config.slices):
            group = CpuCgroup.create(self.owner.netns(f"e{k}"))
            self.cgroups[s.name] = group
            group.set_quota(s.cpu_cores, round(s.period_ms * 1000))
            args = ["--port", str(self.config.base_port + k), "--cgroup", str(group.path), "--height",
                    str(height), "--width", str(width)]  # fmt: skip
            self._servers[s.name] = self.spawn(WORKLOAD, f"srv{k}", ns, args, 5)
        for worker in self._servers.values():
            worker.read()

    def _slice(self, name: str) -> int:
        if not self.running or not self._servers:
            raise EmulationError("the emulation is not running")
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"unknown slice {name!r} (slices: {', '.join(self._index)})") from None

    def set_quota(self, name: str, cpu_cores: float | None) -> None:
        """Change slice ``name``'s CPU quota to ``cpu_cores`` (None: no cap); effective within one period."""
        k = self._slice(name)
        self.cgroups[name].set_quota(cpu_cores, round(self.config.slices[k].period_ms * 1000))

    def start_requests(self, name: str, rate_per_s: float, poisson: bool = True, seed: int = 0) -> None:
        """Start slice ``name``'s request generator: ``rate_per_s`` requests per second, Poisson or periodic."""
        k = self._slice(name)
        if name in self._clients:
            raise EmulationError(f"slice {name!r} already has a request generator")
        rate_mbps = rate_per_s * REQUEST_BYTES * 8 / 1e6
        args = ["send", "--dst", "127.0.0.1", "--port", str(self.config.base_port + k), "--rate-mbps",
                str(rate_mbps), "--packet-bytes", str(REQUEST_BYTES), "--seed", str(seed)]  # fmt: skip
        worker = self.spawn(TRAFFIC, f"cl{k}", self.netns("edge"), [*args, *(["--poisson"] if poisson else [])], 2)
        self._clients[name] = worker
        worker.read()

    def set_request_rate(self, name: str, rate_per_s: float) -> None:
        """Change slice ``name``'s request rate, requests per second."""
        self._slice(name)
        self._clients[name].command(f"r {rate_per_s * REQUEST_BYTES * 8 / 1e6}")

    def logs(self, name: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Slice ``name``'s collected logs: generator rows ``(seq, send_ns)``, server rows (see :mod:`.workload`)."""
        self._slice(name)
        client = self._clients.get(name)
        return (client.log() if client else np.zeros((0, 2), np.int64)), self._servers[name].log()

    def throttled_us(self) -> dict[str, int]:
        """Per slice, the cgroup's total throttled time so far, µs."""
        return {name: group.stat()["throttled_us"] for name, group in self.cgroups.items()}

    def measure(self, seconds: float) -> dict[str, EdgeWindowStats]:
        """Let the requests run for ``seconds``, then every slice's edge KPIs over that window.

        The logs are collected 0.2 s after the window, so that requests waiting at its end are not counted as
        unserved (unless the server is that far behind).
        """
        throttled0 = self.throttled_us()
        t0 = time.monotonic_ns()
        time.sleep(seconds)
        t1 = time.monotonic_ns()
        throttled1 = self.throttled_us()
        time.sleep(0.2)
        self.collect()
        return {
            name: edge_window_stats(name, *self.logs(name), t0, t1, (throttled1[name] - throttled0[name]) / 1e3)
            for name in self._index
        }
