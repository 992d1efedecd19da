"""The fidelity study (netslice.network.emulation.fidelity, calibration, fidelity_study) and the hybrid network.

The pure parts run everywhere: the simulator's predictions at a grid point (known answers of its fluid model),
the checkerboard split, and the calibration on synthetic measurements made by the simulator itself with known
parameters, which the fit must recover and which must then predict the held-out points. One test runs a tiny
study on the real data plane (root, the transport and edge features; it skips with the preflight's reason
elsewhere) and checks the shapes and that every error is finite; how far calibration closes the gap there is
measured by ``benchmarks/emulation_fidelity.py``, not asserted (two short windows on a shared machine are too
noisy for a held-out assertion). The hybrid network (simulated RAN and core, emulated transport and edge) is
checked for its configuration errors everywhere, and for one slot on the data plane: the measured KPI fields are
finite, RAN and core equal the simulator's, and nothing of the run is left.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.network import scenarios
from netslice.network.emulation import fidelity
from netslice.network.emulation.calibration import checkerboard, fit_edge, fit_transport, log_loss
from netslice.network.emulation.fidelity import (
    EDGE_KPIS,
    TRANSPORT_KPIS,
    EdgeModel,
    EdgePoint,
    TransportModel,
    TransportPoint,
    median_errors,
    relative_errors,
    sim_edge,
    sim_transport,
)
from netslice.network.emulation.fidelity_measure import edge_rounds, edge_window
from netslice.network.emulation.fidelity_study import StudyConfig, error_table, reanalyse, run_study
from netslice.network.emulation.hybrid import HybridConfig, HybridNetwork
from netslice.network.emulation.owner import owned_namespaces
from netslice.network.emulation.preflight import preflight
from netslice.network.simulator import Simulator

machine = functools.cache(preflight)
C_MBPS, QUEUE_MS = 10.0, 100.0


def test_sim_transport_below_and_above_capacity():
    below = sim_transport(TransportPoint(0.5, 0.5, 1200), TransportModel(), C_MBPS, QUEUE_MS)
    assert below["throughput_mbps"] == pytest.approx(2.5)
    assert below["loss"] == 0.0
    assert below["delay_p50_ms"] <= below["delay_p90_ms"] <= below["delay_p99_ms"]
    # Overloaded at 1.2 of the rate with 42 header bytes per 1200-byte payload: the goodput is the rate times
    # 1200 / 1242 and the fluid model drops the excess.
    over = sim_transport(TransportPoint(0.5, 1.2, 1200), TransportModel(overhead_bytes=42.0), C_MBPS, QUEUE_MS)
    assert over["throughput_mbps"] == pytest.approx(5.0 * 1200 / 1242, rel=1e-3)
    assert over["loss"] == pytest.approx(1 - 1 / (1.2 * 1242 / 1200), rel=1e-3)
    # Its full queue holds QUEUE_MS of traffic, so the mean delay is at least that.
    assert over["delay_mean_ms"] >= QUEUE_MS


def test_sim_edge_service_time_and_waiting():
    quiet = sim_edge(EdgePoint(0.5, 0.01), EdgeModel(2.0), 2.0, 2.0)
    assert quiet["service_ms"] == pytest.approx(4.0)  # half a core runs a 2 ms request at half speed
    assert quiet["response_mean_ms"] == pytest.approx(4.0, rel=0.02)
    busy = sim_edge(EdgePoint(0.5, 0.8), EdgeModel(2.0), 2.0, 2.0)
    assert busy["response_mean_ms"] > 2 * quiet["response_mean_ms"]


def test_checkerboard_covers_every_level():
    shares, loads = np.meshgrid([0.1, 0.25, 0.5], [0.3, 0.6, 0.9, 1.2], indexing="ij")
    train = checkerboard(shares.ravel(), loads.ravel())
    assert train.sum() == 6
    for level in (0.1, 0.25, 0.5):
        assert train[shares.ravel() == level].any()
        assert (~train[shares.ravel() == level]).any()


def test_relative_errors_and_medians():
    errors = relative_errors([{"a": 2.0}, {"a": 1.0}, {"a": 1.0}], [{"a": 1.0}, {"a": 1.0}, {"a": 0.0}], ("a",))
    assert errors["a"][:2].tolist() == [1.0, 0.0]
    assert math.isnan(errors["a"][2])
    assert median_errors(errors) == {"a": 0.5}
    assert median_errors(errors, np.array([False, True, True])) == {"a": 0.0}


def test_edge_rounds_and_window():
    points = [EdgePoint(0.4, 0.85), EdgePoint(0.4, 0.7), EdgePoint(0.1, 0.5), EdgePoint(0.2, 0.3)]
    rounds = edge_rounds(points, 0.6)
    assert sorted(i for r in rounds for i in r) == [0, 1, 2, 3]
    assert all(sum(points[i].utilisation * points[i].quota_cores for i in r) <= 0.6 + 1e-9 for r in rounds)
    empty = edge_window(np.zeros((0, 2), np.int64), np.zeros((0, 5), np.int64), 0, 10)
    assert math.isnan(empty["response_mean_ms"])
    assert empty["unserved"] == 0.0


def test_transport_fit_recovers_known_parameters():
    """Synthetic 'measurements' from the simulator with known parameters: the fit must find them again."""
    truth = TransportModel(overhead_bytes=42.0, unit_fraction=0.05, fixed_delay_ms=0.1, ca2=2.0)
    points = [TransportPoint(s, ld, pb) for pb in (1200, 400) for s in (0.1, 0.25, 0.5) for ld in (0.3, 0.6, 0.9, 1.2)]
    measured = [sim_transport(p, truth, C_MBPS, QUEUE_MS) for p in points]
    train = checkerboard([p.share for p in points], [p.load + 10 * p.payload_bytes for p in points])
    pick = [i for i in range(len(points)) if train[i]]
    fit = fit_transport([points[i] for i in pick], [measured[i] for i in pick], C_MBPS, QUEUE_MS)
    assert isinstance(fit.model, TransportModel)
    assert fit.model.overhead_bytes == pytest.approx(42.0, abs=0.5)
    assert fit.loss < 0.01 < fit.loss_before
    held = [i for i in range(len(points)) if not train[i]]
    after = [sim_transport(points[i], fit.model, C_MBPS, QUEUE_MS) for i in held]
    before = [sim_transport(points[i], TransportModel(), C_MBPS, QUEUE_MS) for i in held]
    truth_held = [measured[i] for i in held]
    err_after = median_errors(relative_errors(after, truth_held, TRANSPORT_KPIS))
    err_before = median_errors(relative_errors(before, truth_held, TRANSPORT_KPIS))
    assert err_after["delay_mean_ms"] < 0.02 < err_before["delay_mean_ms"]
    assert err_after["throughput_mbps"] < 0.01
    assert log_loss(after, truth_held, ("delay_mean_ms",)) < log_loss(before, truth_held, ("delay_mean_ms",))


def test_shaper_fit_recovers_known_parameters():
    """The token-bucket model's fit, given the configured bucket, finds a known fixed delay and burstiness."""
    truth = TransportModel(overhead_bytes=42.0, fixed_delay_ms=0.08, ca2=0.5, burst_bytes=1600.0, line_mbps=1000.0)
    points = [TransportPoint(s, ld, pb) for pb in (1200, 400) for s in (0.1, 0.5) for ld in (0.3, 0.6, 0.9, 1.2)]
    measured = [sim_transport(p, truth, C_MBPS, QUEUE_MS) for p in points]
    fit = fit_transport(points, measured, C_MBPS, QUEUE_MS, TransportModel(burst_bytes=1600.0), shaper=True)
    assert isinstance(fit.model, TransportModel)
    assert (fit.model.unit_fraction, fit.model.burst_bytes) == (1.0, 1600.0)
    assert fit.model.overhead_bytes == pytest.approx(42.0, abs=0.5)
    assert fit.model.ca2 == pytest.approx(0.5, abs=0.1)
    assert fit.loss < 0.01 < fit.loss_before
    # The fixed delay trades off against the line rate (both nearly constant at low load): compare predictions.
    other = [TransportPoint(0.25, ld, pb) for pb in (1200, 400) for ld in (0.4, 0.8)]
    err = median_errors(
        relative_errors(
            [sim_transport(p, fit.model, C_MBPS, QUEUE_MS) for p in other],
            [sim_transport(p, truth, C_MBPS, QUEUE_MS) for p in other],
            TRANSPORT_KPIS,
        )
    )
    assert err["delay_mean_ms"] < 0.02


def test_shaper_fit_needs_the_bucket():
    with pytest.raises(ValueError, match="burst_bytes"):
        fit_transport([TransportPoint(0.1, 0.5)], [{"throughput_mbps": 0.5}], C_MBPS, QUEUE_MS, shaper=True)


def test_htb_bucket_holds_one_datagram_more(monkeypatch):
    """The simulator's bucket is the configured one plus a datagram on the wire: HTB charges it after sending."""
    seen = []
    real = fidelity.transport_params

    def spy(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(fidelity, "transport_params", spy)
    sim_transport(TransportPoint(0.1, 0.7, 1200), TransportModel(overhead_bytes=42.0, burst_bytes=1600.0), C_MBPS,
                  QUEUE_MS)  # fmt: skip
    sim_transport(TransportPoint(0.1, 0.7, 1200), TransportModel(overhead_bytes=42.0), C_MBPS, QUEUE_MS)
    assert seen[0].burst_bits == pytest.approx((1600.0 + 1242.0) * 8)
    assert seen[1].burst_bits == 0.0  # no bucket: the own-rate model


def test_cfs_edge_fit_recovers_known_parameters():
    truth = EdgeModel(work_ms=2.5, cs2=0.5, cfs_period_ms=100.0)
    points = [EdgePoint(q, u) for q in (0.1, 0.2, 0.4) for u in (0.3, 0.5, 0.7, 0.85)]
    measured = [sim_edge(p, truth, 1.5, 2.0) for p in points]
    fit = fit_edge(points, measured, 1.5, 2.0, cfs_period_ms=100.0)
    assert isinstance(fit.model, EdgeModel)
    assert fit.model.cfs_period_ms == 100.0
    assert fit.model.work_ms == pytest.approx(2.5, rel=0.02)
    assert fit.model.cs2 == pytest.approx(0.5, rel=0.1)
    assert fit.loss < 0.01 < fit.loss_before
    # Under CFS the service time is the work at full speed, whatever the quota.
    assert {round(sim_edge(p, truth, 1.5, 2.0)["service_ms"], 9) for p in points} == {2.5}


def test_edge_fit_recovers_known_parameters():
    truth = EdgeModel(work_ms=2.5, cs2=3.0)
    points = [EdgePoint(q, u) for q in (0.1, 0.2, 0.4) for u in (0.3, 0.5, 0.7, 0.85)]
    measured = [sim_edge(p, truth, 1.5, 2.0) for p in points]
    fit = fit_edge(points, measured, 1.5, 2.0)
    assert isinstance(fit.model, EdgeModel)
    assert fit.model.work_ms == pytest.approx(2.5, rel=0.02)
    assert fit.model.cs2 == pytest.approx(3.0, rel=0.05)
    assert fit.loss < 0.01 < fit.loss_before


def test_tiny_study_on_the_data_plane():
    result = machine()
    for feature in ("transport", "edge"):
        if not result.supports(feature):
            pytest.skip(f"the {feature} emulation is not supported here: {result.reason(feature)}")
    config = StudyConfig(shares=(0.2, 0.5), loads=(0.5, 1.2), payloads=(1200,), quotas=(0.2,),
                         utilisations=(0.3, 0.6), window_s=1.0, warmup_s=0.3, repeats=1)  # fmt: skip
    study = run_study(config)
    transport, edge = study["transport"], study["edge"]
    assert len(transport["measured"]) == len(transport["predicted_after"]) == 4
    assert len(edge["measured"]) == len(edge["predicted_after"]) == 2
    for part, keys in (("transport", TRANSPORT_KPIS), ("edge", EDGE_KPIS)):
        rows = error_table(study, part, "median_all")
        assert [r[0] for r in rows] == list(keys)
        assert all(np.isfinite(r[1]) and np.isfinite(r[2]) and np.isfinite(r[3]) for r in rows)
        for kpi in keys:
            assert len(study[part]["after"]["per_point"][kpi]) == len(study[part]["points"])
            assert len(study[part]["shaped"]["per_point"][kpi]) == len(study[part]["points"])
        assert study[part]["fit_loss"]["after"] <= study[part]["fit_loss"]["before"] + 1e-9
    # A saved study re-analysed (no emulation) gives the same predictions, fits and errors: the fits are deterministic.
    again = reanalyse(json.loads(json.dumps(study)))
    for part in ("transport", "edge"):
        for key in ("after", "shaped", "model_after", "model_shaped"):
            assert again[part][key] == json.loads(json.dumps(study[part][key]))
    # The saturated points' goodput after calibration is the HTB rate times the header factor, as measured.
    saturated = [i for i, p in enumerate(transport["points"]) if p["load"] > 1.0]
    for i in saturated:
        assert transport["predicted_after"][i]["throughput_mbps"] == pytest.approx(
            transport["measured"][i]["throughput_mbps"], rel=0.03
        )


def test_hybrid_network_refuses_many_envs():
    params = scenarios.load("testbed-v0").params
    with pytest.raises(ConfigError):
        HybridNetwork(params, n_envs=2)
    with pytest.raises(ConfigError):
        HybridConfig(window_s=0.0)


def test_hybrid_network_steps_on_the_data_plane():
    result = machine()
    for feature in ("transport", "edge"):
        if not result.supports(feature):
            pytest.skip(f"the {feature} emulation is not supported here: {result.reason(feature)}")
    params = scenarios.load("testbed-v0").params
    reference = Simulator(params, 1, seed=0).step(params.initial_allocation)
    net = HybridNetwork(params, seed=0, config=HybridConfig(window_s=0.5))
    try:
        kpis = net.step(params.initial_allocation)
        owner = net._transport.owner.id if net._transport and net._transport.owner else None
    finally:
        net.close()
    assert kpis.tn_ms.shape == kpis.edge_ms.shape == reference.tn_ms.shape
    for name in HybridNetwork.measured:
        assert np.isfinite(getattr(kpis, name)).all()
    # RAN and core are the simulator's, unchanged (same seed, same first slot).
    np.testing.assert_allclose(kpis.ran_ms, reference.ran_ms)
    np.testing.assert_allclose(kpis.cn_ms, reference.cn_ms)
    assert set(net.last_measurement) == {"transport", "edge"}
    assert owner is not None
    assert owned_namespaces(owner) == []


def test_cli_fidelity_quick(tmp_path):
    result = machine()
    if not result.supports("transport"):
        pytest.skip(f"the transport emulation is not supported here: {result.reason('transport')}")
    from typer.testing import CliRunner

    from netslice import cli_emulate

    out = tmp_path / "fidelity.json"
    run = CliRunner().invoke(cli_emulate.app, ["fidelity", "--quick", "--no-edge", "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "delay_mean_ms" in run.output
    study = json.loads(out.read_text())
    assert "edge" not in study
    assert len(study["transport"]["points"]) == len(StudyConfig.quick().transport_points())
