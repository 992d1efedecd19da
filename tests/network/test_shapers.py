"""Token-bucket shapers (transport) and CFS quotas (edge): known answers, the no-shaper identity, scenarios.

The shaped stage (:func:`netslice.network.queueing.shaped_sojourn`) is the model the emulated data plane
(HTB classes, cgroup CPU quotas) is calibrated against; every scenario without shapers must step exactly as before.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.network import fused, scenarios
from netslice.network.edge import EdgeParams, edge_service, edge_step
from netslice.network.emulation.fidelity import EdgeModel, edge_service_params, transport_params
from netslice.network.model import resolve_backend
from netslice.network.queueing import open_stage, shaped_sojourn
from netslice.network.scenarios.builder import build_params
from netslice.network.simulator import Simulator
from netslice.network.transport import transport_step


def test_shaped_sojourn_known_answers() -> None:
    """W: atom 1 - rho at 0, exponential of mean wq / rho otherwise; a = theta + line - S."""
    wq, s_, rho = np.array([0.01]), np.array([0.01]), np.array([0.5])
    # a = 0.02 + 0.001 - 0.01 >= 0: line + wq exp(-a rho / wq); second moment 2 (wq/rho)^2 rho exp(-a rho / wq).
    m, v = shaped_sojourn(wq, s_, rho, 0.001, 0.02)
    a = 0.011
    p = np.exp(-a * 0.5 / 0.01)
    assert float(m[0]) == pytest.approx(0.001 + 0.01 * p, rel=1e-12)
    assert float(v[0]) == pytest.approx(2 * 0.02**2 * 0.5 * p - (0.01 * p) ** 2, rel=1e-12)
    # No bucket, no line: S + W, and the variance of W (2 wq^2 / rho - wq^2).
    m, v = shaped_sojourn(wq, s_, rho, 0.0, 0.0)
    assert (float(m[0]), float(v[0])) == pytest.approx((0.02, 2 * 0.01**2 / 0.5 - 0.01**2), rel=1e-12)


def test_shaped_sojourn_falls_with_the_bucket_and_rises_with_the_wait() -> None:
    s_, rho = np.full(4, 0.01), np.full(4, 0.7)
    by_bucket, _ = shaped_sojourn(np.full(4, 0.02), s_, rho, 1e-4, np.array([0.0, 0.01, 0.05, 0.2]))
    assert np.all(np.diff(by_bucket) < 0)
    assert 1e-4 < by_bucket[-1] < 1.3e-4  # a deep bucket: little more than the line time
    by_wait, _ = shaped_sojourn(np.array([0.001, 0.01, 0.05, 0.2]), s_, rho, 1e-4, 0.02)
    assert np.all(np.diff(by_wait) > 0)


def _stage(lam: float, allowance: float, line: float = 1e-4, q0: float = 0.0, buffer: float = 50.0) -> float:
    out = open_stage(np.array([q0]), np.array([lam]), np.array([100.0]), 1.0, np.array([1.0]), 1.0, 1.0,
                     buffer, 0.0, (line, allowance))  # fmt: skip
    return float(out.delay[0])


def test_a_bigger_bucket_lowers_the_delay_and_load_raises_it() -> None:
    by_burst = [_stage(70.0, a) for a in (0.0, 0.01, 0.05, 0.2)]
    assert all(b < a for a, b in itertools.pairwise(by_burst))
    assert by_burst[-1] < 0.1 * by_burst[0]
    by_load = [_stage(lam, 0.02) for lam in (10.0, 40.0, 70.0, 90.0)]
    assert all(b > a for a, b in itertools.pairwise(by_load))
    unshaped = open_stage(np.zeros(1), np.array([70.0]), np.array([100.0]), 1.0, np.ones(1), 1.0, 1.0, 50.0)
    assert by_burst[1] < float(unshaped.delay[0])


def test_a_full_shaper_fifo_delays_by_its_drain_time() -> None:
    """Overload with a full buffer of 50 jobs at 100 jobs/s: the line time plus 0.5 s, not more."""
    delay = _stage(300.0, 0.01, q0=50.0)
    assert delay == pytest.approx(1e-4 + 0.5, rel=1e-9)


def test_transport_shaper_at_low_load_is_line_time_plus_link_delay() -> None:
    """A 1 Mbit/s share, 10 kbit/s of 1000-byte units, a 16 kbit bucket, a 1 Gbit/s line: M/M/1 past the bucket.

    The virtual queue's wait is M/M/1's (``ca2 = 1``, the transport's ``cs2 = 1``), so the delay is the link delay
    + the line time + ``E[(W + S - theta - line)+] = wq exp(-(theta + line - S) rho / wq)``, closed form.
    """
    unit = 8000.0
    params = transport_params(10.0, 1e6, fixed_delay_ms=0.05, burst_bytes=2000.0, line_mbps=1000.0)
    offered = np.zeros((1, 2, 1, 1))
    offered[0, 1, 0, 0] = 1e4
    share, units, q0 = np.array([[0.1]]), np.full((2, 1), unit), np.zeros((1, 2, 1, 1))
    out = transport_step(params, share, offered, units, np.ones(1), q0, 1.0)
    line, theta, service, rho = unit / 1e9, 16e3 / 1e6, unit / 1e6, 0.01
    wq = rho / (1.0 - rho) * service  # Kingman with ca2 = cs2 = 1: M/M/1
    expected = 0.05e-3 + line + wq * np.exp(-(theta + line - service) * rho / wq)
    assert float(out.delay[0, 1, 0, 0]) == pytest.approx(expected, rel=1e-9)
    plain = transport_step(dataclasses.replace(params, burst_bits=0.0), share, offered, units, np.ones(1), q0, 1.0)
    assert float(plain.delay[0, 1, 0, 0]) > 0.05e-3 + unit / 1e6  # a link of the share's rate serialises at 1 Mbit/s


def _edge(period_s: float, work_ms: float = 1.5, buffer_jobs: float = 1e6) -> tuple[EdgeParams, object]:
    params = EdgeParams(cores=np.array([2.0]), site_of_slice=np.zeros(1, dtype=np.int64), site_names=("e",),
                        buffer_jobs=buffer_jobs, cfs_period_s=period_s)  # fmt: skip
    return params, edge_service_params(EdgeModel(work_ms))


def test_cfs_service_time_is_full_speed_within_a_periods_quota() -> None:
    params, service = _edge(0.1)
    share = np.array([[0.05, 0.5, 0.75]])[:, :1]  # 0.1 cores
    _, s = edge_service(params, share, service)  # type: ignore[arg-type]
    assert float(s[0, 0]) == pytest.approx(1.5e-3)
    _, slowed = edge_service(_edge(0.0)[0], share, service)  # type: ignore[arg-type]
    assert float(slowed[0, 0]) == pytest.approx(15e-3)


def test_cfs_service_time_of_a_request_beyond_one_periods_quota() -> None:
    """50 ms of work on 0.1 cores, 100 ms periods: 10 ms per period, 4 full throttles + 10 ms: w/c - (1-c)P."""
    params, service = _edge(0.1, work_ms=50.0)
    _, s = edge_service(params, np.array([[0.05]]), service)  # type: ignore[arg-type]
    assert float(s[0, 0]) == pytest.approx(0.5 - 0.9 * 0.1)


def test_cfs_leaves_whole_core_quotas_alone() -> None:
    service = _edge(0.1)[1]
    share = np.array([[0.75]])
    # 1.5 cores of servers: below capacity, and overloaded with a full buffer of 100 requests (a shaper's delay
    # would be capped at the buffer's drain time there; a whole-core quota keeps the stage's own delay)
    for lam, q0, buffer in ((500.0, 0.0, 1e6), (1500.0, 100.0, 100.0)):
        args = (share, np.array([[lam]]), service, np.full((1, 1), q0), 1.0)
        with_cfs = edge_step(_edge(0.1, buffer_jobs=buffer)[0], *args)  # type: ignore[arg-type]
        without = edge_step(_edge(0.0, buffer_jobs=buffer)[0], *args)  # type: ignore[arg-type]
        np.testing.assert_allclose(with_cfs.delay, without.delay, rtol=1e-9)
        np.testing.assert_allclose(with_cfs.var, without.var, rtol=1e-8)


def _shaped_scenario() -> scenarios.Scenario:
    base = scenarios.load("metro-v0")
    data = base.spec.model_dump()
    data["transport"]["burst_kbit"] = 12.0
    data["edge"]["cfs_period_ms"] = 100.0
    spec = scenarios.parse(data)
    return scenarios.Scenario(spec=spec, params=build_params(spec))


def test_scenario_fields_reach_the_simulator_and_change_transport_delay() -> None:
    shaped, plain = _shaped_scenario(), scenarios.load("metro-v0")
    assert shaped.params.transport.burst_bits == pytest.approx(12e3)
    assert shaped.params.edge.cfs_period_s == pytest.approx(0.1)
    runs = {}
    for name, sc in (("shaped", shaped), ("plain", plain)):
        sim = Simulator(sc.params, n_envs=2, seed=3, backend="auto")
        assert sim.backend == ("numpy" if name == "shaped" else sim.backend)
        alloc = np.broadcast_to(sc.params.initial_allocation, (2, *sc.params.initial_allocation.shape)).copy()
        runs[name] = [sim.step(alloc).tn_ms for _ in range(3)]
    assert np.all(np.isfinite(runs["shaped"][-1]))
    assert np.all(runs["shaped"][-1] <= runs["plain"][-1] + 1e-12)
    assert np.any(runs["shaped"][-1] < runs["plain"][-1])


def test_the_fused_backend_refuses_shapers_by_name() -> None:
    params = _shaped_scenario().params
    with pytest.raises(ConfigError, match="fused"):
        resolve_backend("fused", params)
    if fused.available():
        with pytest.raises(ConfigError, match="burst_kbit"):
            resolve_backend("fused", params)
    assert resolve_backend("auto", params) == "numpy"


def test_negative_shaper_fields_are_refused_by_name() -> None:
    data = scenarios.load("metro-v0").spec.model_dump()
    data["transport"]["burst_kbit"] = -1.0
    with pytest.raises(ConfigError, match="burst_kbit"):
        scenarios.parse(data)
