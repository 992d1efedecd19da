"""The oracle: feasible, and not beaten by random search on small instances."""

from __future__ import annotations

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.intelligence.policies.base import ContextPolicy, ModelPolicy, PolicyContext, allocation_for
from netslice.intelligence.policies.oracle import SEARCH_ROWS, Oracle
from netslice.network.allocation import MCS_DL, MCS_UL, N_RESOURCES
from netslice.orchestration.capacity import proportional_scaling
from netslice.orchestration.orchestrator import Orchestrator


@pytest.mark.parametrize("scenario", ["single-v0", "testbed-v0"])
def test_oracle_allocation_meets_every_sla_and_fits(scenario: str) -> None:
    orch = Orchestrator.create(scenario, n_envs=4, seed=2, backend="numpy")
    oracle = Oracle.create()
    for _ in range(30):
        alloc = oracle.plan(orch.planning_model())
        np.testing.assert_allclose(proportional_scaling(alloc, orch.scenario.params.edge.site_of_slice), alloc)
        result = orch.step(alloc)
        assert not result.modified.any()
        assert (result.cost == 0.0).all(), result.cost


@pytest.mark.parametrize("scenario", ["single-v0", "testbed-v0"])
def test_random_search_never_beats_the_oracle(scenario: str) -> None:
    orch = Orchestrator.create(scenario, n_envs=2, seed=5, backend="numpy")
    oracle = Oracle.create()
    for _ in range(9):  # move into the day so that traffic is not at its night minimum
        orch.step(oracle.plan(orch.planning_model()))
    model = orch.planning_model()
    best = oracle.plan(model)
    params = orch.scenario.params
    best_usage = oracle.objective.allocation_usage(params, best)  # (E, K)
    rng = np.random.default_rng(0)
    n = 4000
    cand = np.zeros((n, *best.shape))
    cand[:, :, list(SEARCH_ROWS), :] = rng.random((n, best.shape[0], len(SEARCH_ROWS), best.shape[2]))
    cand[:, :, [MCS_UL, MCS_DL], :] = rng.integers(0, 11, size=(n, best.shape[0], 1, best.shape[2])) / 10
    cost = model.cost(cand)  # (n, E, K)
    usage = oracle.objective.allocation_usage(params, cand)
    feasible = cost <= 0.0
    assert feasible.any(), "random search found nothing feasible: the test is too weak"
    beaten = feasible & (usage < best_usage[None] - 1e-3)
    assert not beaten.any(), f"random search found usage {usage[beaten].min():.4f} < oracle {best_usage.min():.4f}"


def test_oracle_declares_that_it_plans_with_the_model() -> None:
    orch = Orchestrator.create("testbed-v0", n_envs=1, seed=0)
    oracle = Oracle.create()
    assert isinstance(oracle, ModelPolicy)
    assert not isinstance(oracle, ContextPolicy)  # it never acts on the context alone
    assert allocation_for(oracle, orch).shape == (1, N_RESOURCES, 3)
    np.testing.assert_array_equal(
        oracle.act_model(PolicyContext.of(orch), orch.planning_model()), allocation_for(oracle, orch)
    )


def test_oracle_weights_are_checked() -> None:
    with pytest.raises(ConfigError, match="weights"):
        Oracle.create([1.0, -1.0, 0.0, 0.0])
