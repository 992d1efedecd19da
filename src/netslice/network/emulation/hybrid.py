"""A hybrid network: RAN and core simulated, transport and edge measured on the emulated data plane.

:class:`HybridNetwork` has the interface of :class:`netslice.network.simulator.Simulator` (``params``, ``model``,
``backend``, ``n_envs``, ``state``, ``present``, ``set_presence``, ``reset``, ``step(allocation) -> Kpis``), for one
network (``n_envs = 1``). Each slot it steps the simulator, then carries that slot's traffic for
``window_s`` seconds of real time through the emulation, scaled down:

* **transport**: one emulated link stands for the scenario's narrowest link. Slice ``k``'s HTB class gets its TN
  share of ``link_mbps``, and its sender offers the slice's downlink load scaled by
  ``link_mbps / min(capacity)`` (1200-byte Poisson datagrams). So every slice keeps the utilisation it has in
  the scenario.
* **edge**: slice ``k``'s cgroup quota is its edge share of ``edge_cores``. Its request rate keeps the edge
  utilisation the simulator computed for that slot (``cpu_load_edge``), converted with the workload's nominal
  CPU per request.

The returned :class:`~netslice.network.kernel.Kpis` are the simulator's, except for the fields named in
:attr:`HybridNetwork.measured`:

* ``tn_ms`` is the measured mean one-way delay, times the TN passes in the slice's latency (as the simulator
  counts them). ``edge_ms`` is the median measured response time.
* ``latency_ms`` and ``latency_tail_ms`` swap the simulated TN and edge parts for the measured ones.
* ``thp_dl_kbps`` is capped at the offered downlink load times one minus the measured loss. ``reliability`` is
  capped at one minus the measured loss.

A slice whose scaled load sent nothing in the window keeps its simulated values. Interactive (closed-loop)
slices are carried as open-loop traffic at the simulated rate: their loop is not emulated. The last slot's raw
measurements are in :attr:`HybridNetwork.last_measurement`. The emulation is built on first use (or by
``with``), and removed by :meth:`close`. It needs root (see :func:`netslice.network.emulation.preflight`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.network.allocation import EDGE_CPU, TN_BW
from netslice.network.emulation.edge import EdgeConfig, EdgeEmulation, EdgeSlice, edge_window_stats
from netslice.network.emulation.fidelity import nominal_work_ms
from netslice.network.emulation.transport import SliceLink, TransportConfig, TransportEmulation
from netslice.network.kernel import Kpis, SimParams, SimState
from netslice.network.model import NetworkModel
from netslice.network.simulator import Simulator

FloatArray = NDArray[np.float64]
#: The smallest HTB rate (Mbit/s) and CPU quota (cores) given to a slice with a zero share (both must be > 0).
MIN_RATE_MBPS, MIN_QUOTA_CORES = 0.01, 0.01


@dataclass(frozen=True)
class HybridConfig:
    """How the scenario is scaled onto the emulation.

    Attributes:
        link_mbps: the emulated link that stands for the scenario's narrowest link, Mbit/s.
        edge_cores: the emulated edge site's cores (a slice's quota is its edge share of them).
        window_s: real seconds of traffic per slot.
        queue_ms: every slice's HTB queue, ms at its rate.
        packet_bytes: UDP payload of the transport traffic, bytes.
        max_request_rate: cap on a slice's emulated edge requests per second (the machine has few cores).
    """

    link_mbps: float = 10.0
    edge_cores: float = 1.0
    window_s: float = 2.0
    queue_ms: float = 50.0
    packet_bytes: int = 1200
    max_request_rate: float = 300.0

    def __post_init__(self) -> None:
        for name in ("link_mbps", "edge_cores", "window_s", "queue_ms", "max_request_rate"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}: must be > 0, got {getattr(self, name)}")


class HybridNetwork:
    """The simulator's interface over a hybrid network (see the module docstring); one network only.

    Args:
        params: scenario parameters.
        n_envs: must be 1 (one real data plane).
        seed: seed of the simulator's random generator.
        backend: the simulator's step implementation.
        config: the scaling onto the emulation.
    """

    #: The KPI fields that come (in part) from measurements.
    measured: tuple[str, ...] = ("tn_ms", "edge_ms", "latency_ms", "latency_tail_ms", "thp_dl_kbps", "reliability")

    def __init__(
        self,
        params: SimParams,
        n_envs: int = 1,
        seed: int | None = None,
        backend: str = "auto",
        config: HybridConfig | None = None,
    ) -> None:
        if n_envs != 1:
            raise ConfigError(f"n_envs: the hybrid network runs one real data plane, got {n_envs}")
        self.sim = Simulator(params, 1, seed, backend)
        self.config = config or HybridConfig()
        self.n_envs = 1
        self.last_measurement: dict[str, Any] = {}
        self._transport: TransportEmulation | None = None
        self._edge: EdgeEmulation | None = None
        self._work_ms = 0.0
        self._scale = self.config.link_mbps * 1e6 / float(np.min(params.transport.capacity_bps))

    # -- the Simulator interface, delegated --
    @property
    def params(self) -> SimParams:
        """The scenario's parameters."""
        return self.sim.params

    @property
    def model(self) -> NetworkModel:
        """The simulator's network model."""
        return self.sim.model

    @property
    def backend(self) -> str:
        """The simulator's step implementation."""
        return self.sim.backend

    @property
    def rng(self) -> np.random.Generator:
        """The simulator's random generator."""
        return self.sim.rng

    @property
    def state(self) -> SimState:
        """The simulated state (read-only)."""
        return self.sim.state

    @property
    def present(self) -> NDArray[np.bool_]:
        """``(1, n_slices)`` slices present."""
        return self.sim.present

    def set_presence(self, present: NDArray[np.bool_]) -> None:
        """Say which slices are present from the coming slot on (an absent slice offers no traffic)."""
        self.sim.set_presence(present)

    def reset(
        self, seed: int | None = None, mask: NDArray[np.bool_] | None = None, allocation: FloatArray | None = None
    ) -> SimState:
        """Reset the simulated state (the emulated queues drain within one window)."""
        return self.sim.reset(seed, mask, allocation)

    # -- the emulation --
    def open(self) -> None:
        """Build the transport and edge emulations (one slice each per scenario slice); idempotent."""
        if self._transport is not None:
            return
        k = self.params.n_slices
        c = self.config
        links = tuple(SliceLink(f"s{i}", c.link_mbps / k, queue_ms=c.queue_ms) for i in range(k))
        self._work_ms = nominal_work_ms()
        try:
            self._transport = TransportEmulation(TransportConfig(slices=links))
            self._transport.start()
            for i in range(k):
                self._transport.start_flow(f"s{i}", 0.0, packet_bytes=c.packet_bytes, poisson=True, seed=i)
            self._edge = EdgeEmulation(EdgeConfig(slices=tuple(EdgeSlice(f"s{i}", c.edge_cores / k) for i in range(k))))
            self._edge.start()
            for i in range(k):
                self._edge.start_requests(f"s{i}", 0.0, seed=100 + i)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Remove everything the emulations built (idempotent)."""
        for emu in (self._edge, self._transport):
            if emu is not None:
                emu.close()
        self._edge = self._transport = None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def step(self, allocation: FloatArray, *, validate: bool = True) -> Kpis:
        """Run one slot: simulate it, carry its TN and edge load through the emulation, swap in the measurements."""
        kpis = self.sim.step(allocation, validate=validate)
        self.open()
        assert self._transport is not None
        assert self._edge is not None
        alloc = np.asarray(allocation, dtype=np.float64).reshape(-1, *np.shape(allocation)[-2:])[0]
        c, names = self.config, [f"s{i}" for i in range(self.params.n_slices)]
        offered = kpis.offered_dl_kbps[0] * 1e3 * self._scale / 1e6  # Mbit/s on the emulated link
        quota = np.maximum(alloc[EDGE_CPU] * c.edge_cores, MIN_QUOTA_CORES)
        rho = kpis.cpu_load_edge[0] / 100.0  # the simulated utilisation of the slice's edge allocation
        requests = np.minimum(rho * quota / (self._work_ms * 1e-3), c.max_request_rate)
        for i, name in enumerate(names):
            self._transport.set_rate(name, max(alloc[TN_BW, i] * c.link_mbps, MIN_RATE_MBPS))
            self._transport.set_offered(name, float(offered[i]))
            self._edge.set_quota(name, float(quota[i]))
            self._edge.set_request_rate(name, float(requests[i]))
        time.sleep(0.2)  # let the new rates settle (a rate change acts within 200 ms)
        t0 = time.monotonic_ns()
        time.sleep(c.window_s)
        t1 = time.monotonic_ns()
        time.sleep(c.queue_ms / 1e3 + 0.2)
        self._transport.collect()
        self._edge.collect()
        tn = self._transport.stats(t0, t1)
        edge = {n: edge_window_stats(n, *self._edge.logs(n), t0, t1) for n in names}
        self._transport.clear_logs()
        for worker in self._edge.workers:
            worker.rows = []
        self.last_measurement = {"transport": {n: s.as_dict() for n, s in tn.items()},
                                 "edge": {n: s.as_dict() for n, s in edge.items()}}  # fmt: skip
        return self._swap(kpis, tn, edge)

    def _swap(self, kpis: Kpis, tn: dict[str, Any], edge: dict[str, Any]) -> Kpis:
        """The simulator's KPIs with the measured transport and edge parts (see the module docstring)."""
        names = [f"s{i}" for i in range(self.params.n_slices)]
        passes = self.params.service.latency_dirs.sum(axis=0)  # TN passes in the slice's latency (0, 1 or 2)
        tn_ms = np.array([[_finite(tn[n].delay_mean_ms * passes[i], kpis.tn_ms[0, i]) for i, n in enumerate(names)]])
        edge_ms = np.array([[_finite(edge[n].response_p50_ms, kpis.edge_ms[0, i]) for i, n in enumerate(names)]])
        # A slice that sent nothing in the window (a very light load) keeps the simulated fractions.
        loss = np.array([[tn[n].loss if tn[n].sent else 0.0 for n in names]])
        shift = (tn_ms - kpis.tn_ms) + (edge_ms - kpis.edge_ms)
        return dataclasses.replace(
            kpis,
            tn_ms=tn_ms,
            edge_ms=edge_ms,
            latency_ms=kpis.latency_ms + shift,
            latency_tail_ms=kpis.latency_tail_ms + shift,
            thp_dl_kbps=np.minimum(kpis.thp_dl_kbps, kpis.offered_dl_kbps * (1.0 - loss)),
            reliability=np.minimum(kpis.reliability, 1.0 - loss),
        )


def _finite(value: float, fallback: float) -> float:
    """``value``, or ``fallback`` where nothing was measured (NaN)."""
    return float(value) if np.isfinite(value) else float(fallback)
