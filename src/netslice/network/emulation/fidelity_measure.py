"""The emulation side of the fidelity study: grid points measured on the real data plane (needs root).

Transport points run together in one emulation, one slice (HTB class) each. Their classes do not borrow
(ceiling = rate), so the points do not interact through the link; they share the machine's CPUs only. Edge
points run in rounds whose total offered work stays under ``max_cores`` (the machine has few cores and other
work), each point a slice with its own cgroup quota.
"""

from __future__ import annotations

import time

import numpy as np

from netslice.network.emulation.edge import EdgeConfig, EdgeEmulation, EdgeSlice
from netslice.network.emulation.fidelity import EdgePoint, TransportPoint, request_rate
from netslice.network.emulation.transport import SliceLink, TransportConfig, TransportEmulation


def measure_transport(
    points: list[TransportPoint],
    capacity_mbps: float,
    queue_ms: float,
    window_s: float = 3.0,
    warmup_s: float = 1.0,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Measure every transport point: Poisson UDP at ``load x share x capacity`` into an HTB class of that rate.

    Args:
        points: the grid points (one slice each).
        capacity_mbps: the scaled link's capacity, Mbit/s (a point's HTB rate is ``share x capacity``).
        queue_ms: every slice's bfifo, ms at its rate.
        window_s: the measured window, s.
        warmup_s: traffic before the window (the queues reach their steady state), s.
        seed: seed of the first slice's Poisson gaps (slice ``i`` uses ``seed + i``).

    Returns:
        Per point: ``throughput_mbps``, ``delay_mean_ms``, ``delay_p50_ms``, ``delay_p90_ms``, ``delay_p99_ms``,
        ``loss`` and ``offered_mbps`` (the payload rate the Poisson sender really offered) over the window.
    """
    slices = tuple(SliceLink(f"p{i}", p.share * capacity_mbps, queue_ms=queue_ms) for i, p in enumerate(points))
    with TransportEmulation(TransportConfig(slices=slices)) as emu:
        for i, (p, s) in enumerate(zip(points, slices, strict=True)):
            emu.start_flow(s.name, p.load * s.rate_mbps, packet_bytes=p.payload_bytes, poisson=True, seed=seed + i)
        emu.measure(warmup_s)
        emu.clear_logs()
        stats = emu.measure(window_s)
    keys = ("throughput_mbps", "delay_mean_ms", "delay_p50_ms", "delay_p90_ms", "delay_p99_ms", "loss")
    out = []
    for p, s in zip(points, slices, strict=True):
        st = stats[s.name]
        offered = st.sent * p.payload_bytes * 8 / st.duration_s / 1e6
        out.append({k: float(getattr(st, k)) for k in keys} | {"offered_mbps": offered})
    return out


def edge_rounds(points: list[EdgePoint], max_cores: float) -> list[list[int]]:
    """Group point indices into rounds whose offered work (``utilisation x quota``) stays under ``max_cores``.

    A point heavier than ``max_cores`` runs alone.

    Example:
        >>> edge_rounds([EdgePoint(1.0, 0.6), EdgePoint(0.5, 0.6), EdgePoint(0.25, 0.6)], 1.0)
        [[0, 1], [2]]
    """
    rounds: list[list[int]] = []
    loads: list[float] = []
    for i in sorted(range(len(points)), key=lambda j: -points[j].utilisation * points[j].quota_cores):
        work = points[i].utilisation * points[i].quota_cores
        for r, used in enumerate(loads):
            if used + work <= max_cores + 1e-9:
                rounds[r].append(i)
                loads[r] += work
                break
        else:
            rounds.append([i])
            loads.append(work)
    return [sorted(r) for r in rounds]


def measure_edge(
    points: list[EdgePoint],
    nominal_work_ms: float,
    window_s: float = 3.0,
    warmup_s: float = 1.0,
    max_cores: float = 1.0,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Measure every edge point: Poisson requests at its utilisation of its quota, in a cgroup with that quota.

    Args:
        points: the grid points.
        nominal_work_ms: the workload's nominal CPU per request, ms (sets each point's request rate).
        window_s: the measured window, s.
        warmup_s: requests before the window, s.
        max_cores: the most offered work per round, cores.
        seed: seed of the Poisson gaps.

    Returns:
        Per point: mean ``service_ms``, ``response_mean_ms``, ``response_p50_ms``, ``response_p90_ms``,
        ``response_p99_ms``, ``cpu_ms_mean``, ``unserved`` and ``rate_per_s`` (requests really sent per second)
        over the window.
    """
    out: list[dict[str, float]] = [{} for _ in points]
    for r, members in enumerate(edge_rounds(points, max_cores)):
        slices = tuple(EdgeSlice(f"p{i}", points[i].quota_cores) for i in members)
        with EdgeEmulation(EdgeConfig(slices=slices)) as emu:
            for i, s in zip(members, slices, strict=True):
                emu.start_requests(s.name, request_rate(points[i], nominal_work_ms), seed=seed + 100 * r + i)
            time.sleep(warmup_s)
            t0 = time.monotonic_ns()
            time.sleep(window_s)
            t1 = time.monotonic_ns()
            time.sleep(0.3)
            emu.collect()
            for i, s in zip(members, slices, strict=True):
                sent, served = emu.logs(s.name)
                out[i] = edge_window(sent, served, t0, t1)
    return out


def edge_window(sent: np.ndarray, served: np.ndarray, t0_ns: int, t1_ns: int) -> dict[str, float]:
    """Mean service time, response time mean and percentiles of the requests that ended in ``[t0_ns, t1_ns)``.

    Args:
        sent: the generator's rows ``(seq, send_ns)``.
        served: the server's rows ``(seq, send_ns, start_ns, end_ns, cpu_ns)``.
        t0_ns: window start, ns.
        t1_ns: window end, ns.

    Example:
        >>> ms = 1_000_000
        >>> served = np.array([[0, 0, 1 * ms, 3 * ms, 2 * ms], [1, 4 * ms, 4 * ms, 6 * ms, 2 * ms]])
        >>> w = edge_window(np.array([[0, 0], [1, 4 * ms]]), served, 0, 10 * ms)
        >>> w["service_ms"], w["response_mean_ms"], w["unserved"]
        (2.0, 2.5, 0.0)
    """
    done = served[(served[:, 3] >= t0_ns) & (served[:, 3] < t1_ns)]
    n_sent = int(np.count_nonzero((sent[:, 1] >= t0_ns) & (sent[:, 1] < t1_ns)))
    n_served = int(np.count_nonzero((served[:, 1] >= t0_ns) & (served[:, 1] < t1_ns)))
    rate = n_sent / ((t1_ns - t0_ns) / 1e9)
    if not done.size:
        nan = float("nan")
        return dict.fromkeys(
            ("service_ms", "response_mean_ms", "response_p50_ms", "response_p90_ms", "response_p99_ms", "cpu_ms_mean"),
            nan,
        ) | {"unserved": 1.0 if n_sent else 0.0, "rate_per_s": rate}
    response = (done[:, 3] - done[:, 1]) / 1e6
    p50, p90, p99 = (float(x) for x in np.percentile(response, [50, 90, 99]))
    return {
        "service_ms": float(np.mean(done[:, 3] - done[:, 2])) / 1e6,
        "response_mean_ms": float(response.mean()),
        "response_p50_ms": p50,
        "response_p90_ms": p90,
        "response_p99_ms": p99,
        "cpu_ms_mean": float(done[:, 4].mean()) / 1e6,
        "unserved": max(0.0, 1.0 - n_served / n_sent) if n_sent else 0.0,
        "rate_per_s": rate,
    }
