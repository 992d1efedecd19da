"""The orchestrator on the emulated backend: the same agent API, transport and edge measured on a real data plane."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.network.emulation.preflight import preflight
from netslice.orchestration.orchestrator import Orchestrator

machine = functools.cache(preflight)


def test_the_emulated_backend_runs_one_network() -> None:
    with pytest.raises(ConfigError, match="n_envs: the emulated backend runs one network"):
        Orchestrator.create("testbed-v0", n_envs=2, backend="emulated")


def test_two_slots_through_the_orchestrator_on_the_data_plane() -> None:
    result = machine()
    for feature in ("transport", "edge"):
        if not result.supports(feature):
            pytest.skip(f"the {feature} emulation is not supported here: {result.reason(feature)}")
    orch = Orchestrator.create("testbed-v0", n_envs=1, seed=0, backend="emulated")
    reference = Orchestrator.create("testbed-v0", n_envs=1, seed=0)
    try:
        for _ in range(2):
            got = orch.step(orch.scenario.params.initial_allocation)
            want = reference.step(reference.scenario.params.initial_allocation)
            assert got.cost.shape == want.cost.shape
            assert np.isfinite(got.kpis.latency_ms).all()
            np.testing.assert_allclose(got.kpis.ran_ms, want.kpis.ran_ms)  # RAN stays simulated, same draws
            np.testing.assert_allclose(got.usage, want.usage)  # the same allocation is in force
        assert set(orch.sim.last_measurement) == {"transport", "edge"}  # type: ignore[attr-defined]
    finally:
        orch.sim.close()  # type: ignore[attr-defined]
