"""SLA decomposition: sums, monotonicity, bounds, reliability, cost, config errors, determinism."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.intelligence.decomposition import (
    DEFAULT_SHARES,
    GROUP_DOMAINS,
    GROUPS,
    MEMBERSHIP,
    DecompositionConfig,
    E2eRequirement,
    SlaDecomposer,
    floor_shares,
    group_latency,
    local_cost,
    rebalance,
    shared_cost,
    split_latency,
    split_reliability,
)
from netslice.network.allocation import DOMAINS
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets, sla_cost
from netslice.orchestration.orchestrator import Orchestrator

E, K, G = 4, 5, len(GROUPS)


def _decomposer(rng: np.random.Generator, **config: object) -> SlaDecomposer:
    latency = rng.uniform(1.0, 500.0, K)
    latency[0] = 3.0  # no network budget left: the application alone uses the whole SLA
    latency[1] = np.nan  # no latency term
    app = np.full(K, 3.0)
    settings = {
        "step_size": rng.uniform(0.05, 1.0),
        "smoothing": rng.uniform(0.05, 1.0),
        "min_fraction": rng.uniform(0.0, 0.3),
        **config,
    }
    return SlaDecomposer.create(
        E2eRequirement.create(latency, app), rng.random((K, G)), DecompositionConfig(**settings)
    )


def _observations(rng: np.random.Generator, dec: SlaDecomposer) -> np.ndarray:
    scale = np.nan_to_num(dec.requirement.budget_ms, nan=100.0)[:, None]
    obs = rng.uniform(0.0, 0.8, (E, K, G)) * scale
    obs[rng.random((E, K, G)) < 0.05] = np.inf  # a starved group
    obs[rng.random((E, K, G)) < 0.05] = np.nan  # nothing measured
    return obs


def test_group_mapping_covers_every_domain_once() -> None:
    assert GROUPS == ("ran_edge", "transport", "core")
    assert sorted(d for g in GROUPS for d in GROUP_DOMAINS[g]) == sorted(DOMAINS)
    np.testing.assert_array_equal(MEMBERSHIP.sum(axis=1), np.ones(len(DOMAINS)))
    np.testing.assert_allclose(DEFAULT_SHARES, [0.5, 0.25, 0.25])


@pytest.mark.parametrize("method", ["fixed", "adaptive"])
def test_budgets_sum_exactly_to_the_e2e_budget_after_any_updates(method: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(40):
        dec = _decomposer(rng, method=method)
        total = dec.requirement.budget_ms
        state = dec.initial(E)
        for _ in range(25):
            state = dec.update(state, _observations(rng, dec))
            sums = state.budgets_ms.sum(axis=-1)
            has = ~np.isnan(total)
            assert np.array_equal(sums[:, has], np.broadcast_to(total[has], (E, int(has.sum()))))  # bit for bit
            assert np.isnan(state.budgets_ms[:, ~has]).all()


def test_bounds_hold_after_any_updates() -> None:
    rng = np.random.default_rng(1)
    for _ in range(40):
        dec = _decomposer(rng)
        total = dec.requirement.budget_ms
        floor = dec.config.min_fraction * total[:, None]
        state = dec.initial(E)
        for _ in range(25):
            state = dec.update(state, _observations(rng, dec))
            b = state.budgets_ms[:, 2:]  # slices with a latency term
            assert (b >= floor[2:] - 1e-12 * total[2:, None]).all()
            assert (b <= total[2:, None] - 2 * floor[2:] + 1e-12 * total[2:, None]).all()


def test_over_budget_group_gains_and_slack_group_loses() -> None:
    budgets = np.array([50.0, 30.0, 20.0])
    total = np.array(100.0)
    new = rebalance(budgets, np.array([70.0, 10.0, 20.0]), total, step_size=0.5, min_fraction=0.1)
    np.testing.assert_allclose(new, [60.0, 20.0, 20.0])  # 0.5 * min(20, 20) moves from transport to ran_edge
    # Two groups over, one with slack: the over groups share in proportion to their excess.
    new = rebalance(budgets, np.array([60.0, 40.0, 5.0]), total, step_size=1.0, min_fraction=0.1)
    np.testing.assert_allclose(new, [55.0, 35.0, 10.0])  # core gives its slack down to its floor (10)


def test_monotone_update_on_random_states() -> None:
    rng = np.random.default_rng(2)
    for _ in range(200):
        total = rng.uniform(1.0, 300.0, (E, K))
        f = rng.uniform(0.0, 0.3)
        budgets = split_latency(total, floor_shares(rng.random((E, K, G)), f))
        smoothed = rng.uniform(0.0, 0.7, (E, K, G)) * total[..., None]
        new = rebalance(budgets, smoothed, total, step_size=rng.uniform(0.05, 1.0), min_fraction=f)
        tol = 1e-12 * total[..., None]
        over, slack = smoothed > budgets, smoothed < budgets
        assert (new[over] >= budgets[over] - tol.repeat(G, -1)[over]).all()  # an over group never loses
        assert (new[slack] <= budgets[slack] + tol.repeat(G, -1)[slack]).all()  # a slack group never gains
        usable = np.minimum(budgets - smoothed, budgets - f * total[..., None]) > 1e-9 * total[..., None]
        some_over = over.any(axis=-1, keepdims=True)
        assert (new[usable & some_over] < budgets[usable & some_over]).all()  # slack moves when someone needs it
        gains = over & (usable.any(axis=-1, keepdims=True))
        assert (new[gains] > budgets[gains]).all()  # and the over groups get it
        # No group with slack is pushed below its own smoothed latency.
        assert (new[slack] >= np.minimum(smoothed, budgets)[slack] - tol.repeat(G, -1)[slack]).all()


def test_no_transfer_without_an_over_group_or_without_slack() -> None:
    budgets = np.array([50.0, 30.0, 20.0])
    total = np.array(100.0)
    all_slack = rebalance(budgets, np.array([10.0, 10.0, 10.0]), total, step_size=1.0, min_fraction=0.1)
    np.testing.assert_array_equal(all_slack, budgets)
    all_over = rebalance(budgets, np.array([90.0, 40.0, 30.0]), total, step_size=1.0, min_fraction=0.1)
    np.testing.assert_array_equal(all_over, budgets)
    nothing_seen = rebalance(budgets, np.full(3, np.nan), total, step_size=1.0, min_fraction=0.1)
    np.testing.assert_array_equal(nothing_seen, budgets)


def test_more_e2e_budget_never_decreases_a_group_budget() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        shares = floor_shares(rng.random((K, G)), rng.uniform(0.0, 0.3))
        small = rng.uniform(0.0, 400.0, K)
        large = small * rng.uniform(1.0, 3.0, K) + rng.uniform(0.0, 10.0, K)
        b_small, b_large = split_latency(small, shares), split_latency(large, shares)
        assert (b_large >= b_small - 1e-12 * large[:, None]).all()
        cfg = DecompositionConfig(min_fraction=0.1)
        d_small = SlaDecomposer.create(E2eRequirement.create(small + 1.0, np.ones(K)), shares, cfg)
        d_large = SlaDecomposer.create(E2eRequirement.create(large + 1.0, np.ones(K)), shares, cfg)
        assert (d_large.initial(2).budgets_ms >= d_small.initial(2).budgets_ms - 1e-12 * large[:, None]).all()


def test_adaptive_update_is_scale_free() -> None:
    rng = np.random.default_rng(4)
    total = rng.uniform(10.0, 100.0, (E, K))
    budgets = split_latency(total, floor_shares(rng.random((E, K, G)), 0.05))
    smoothed = rng.uniform(0.0, 0.8, (E, K, G)) * total[..., None]
    a = rebalance(budgets, smoothed, total, step_size=0.3, min_fraction=0.05)
    b = rebalance(4.0 * budgets, 4.0 * smoothed, 4.0 * total, step_size=0.3, min_fraction=0.05)
    np.testing.assert_allclose(b, 4.0 * a, rtol=1e-12)


def test_fixed_split_is_proportional_and_never_moves() -> None:
    req = E2eRequirement.create([100.0, 60.0], [10.0, 0.0])
    dec = SlaDecomposer.create(req, [[0.5, 0.3, 0.2], [2.0, 1.0, 1.0]], DecompositionConfig(method="fixed"))
    np.testing.assert_allclose(dec.fixed_budgets_ms, [[45.0, 27.0, 18.0], [30.0, 15.0, 15.0]])
    state = dec.initial(3)
    later = dec.update(dec.update(state, np.full((3, 2, 3), 80.0)), np.zeros((3, 2, 3)))
    np.testing.assert_array_equal(later.budgets_ms, state.budgets_ms)
    # The EMA is tracked all the same (observations capped at the slices' 90 and 60 ms budgets).
    np.testing.assert_allclose(later.smoothed_ms[:, 0], 0.7 * 80.0)
    np.testing.assert_allclose(later.smoothed_ms[:, 1], 0.7 * 60.0)


def test_floor_shares_raises_small_shares_and_keeps_feasible_ones() -> None:
    np.testing.assert_array_equal(floor_shares([0.5, 0.3, 0.2], 0.1), [0.5, 0.3, 0.2])
    np.testing.assert_allclose(floor_shares([1.0, 0.0, 0.0], 0.1), [0.8, 0.1, 0.1])
    np.testing.assert_allclose(floor_shares([0.0, 0.0, 0.0], 0.1), [1 / 3] * 3)
    np.testing.assert_allclose(floor_shares([np.nan, 1.0, 1.0], 0.0), [0.0, 0.5, 0.5])


def test_reliability_product_meets_the_target() -> None:
    targets = np.array([0.9, 0.99, 0.999, 0.99999, 0.9999999, 1.0, np.nan])
    for weights in (DEFAULT_SHARES, np.array([0.2, 0.3, 0.5]), np.array([1.0, 1.0, 1.0])):
        r = split_reliability(targets, weights)
        assert r.shape == (7, 3)
        finite = ~np.isnan(targets)
        assert (np.prod(r[finite], axis=-1) >= targets[finite]).all()
        assert ((r[finite] >= targets[finite, None]) & (r[finite] <= 1.0)).all()
        np.testing.assert_allclose(np.prod(r[finite], axis=-1), targets[finite], rtol=1e-14)
        assert np.isnan(r[~finite]).all()
    np.testing.assert_allclose(split_reliability(0.9999), [0.9999**0.5, 0.9999**0.25, 0.9999**0.25])


def test_local_cost_is_graded_like_the_sla_cost() -> None:
    budgets = np.array([10.0, 10.0, 10.0, np.nan, 0.0, 0.0, 10.0])
    observed = np.array([10.0, 15.0, 40.0, 1e9, 0.0, 1.0, np.inf])
    np.testing.assert_allclose(local_cost(budgets, observed), [0.0, 0.5, 1.0, 0.0, 0.0, 1.0, 1.0])


def _step_kpis(scenario: str, seed: int = 0):  # type: ignore[no-untyped-def]
    orch = Orchestrator.create(scenario, seed=seed, backend="numpy", events=False)
    orch.reset(seed=seed)
    return orch.scenario, orch.step(orch.scenario.params.initial_allocation[None]).kpis


@pytest.mark.parametrize("scenario", ["testbed-v0", "metro-v0"])
def test_group_latencies_add_up_to_the_network_latency(scenario: str) -> None:
    sc, kpis = _step_kpis(scenario)
    req = E2eRequirement.from_scenario(sc)
    grouped = group_latency(kpis, req)
    assert grouped.shape == (1, sc.params.n_slices, G)
    measured = np.where(req.tail, kpis.latency_tail_ms, kpis.latency_ms) - req.app_ms
    np.testing.assert_allclose(grouped.sum(axis=-1), measured, rtol=1e-9)
    mean = group_latency(kpis, replace(req, tail=np.zeros_like(req.tail)))
    np.testing.assert_allclose(mean[..., 0], kpis.ran_ms + kpis.edge_ms)
    np.testing.assert_allclose(mean[..., 1], kpis.tn_ms)
    np.testing.assert_allclose(mean[..., 2], kpis.cn_ms)


@pytest.mark.parametrize("scenario", ["testbed-v0", "metro-v0"])
def test_every_group_within_budget_means_the_e2e_latency_term_holds(scenario: str) -> None:
    sc, kpis = _step_kpis(scenario)
    req = E2eRequirement.from_scenario(sc)
    observed = group_latency(kpis, req)
    has = ~np.isnan(req.latency_ms)
    # Budgets just above each observed group latency, with the slack shared so that they sum to B.
    for scale in (0.5, 0.9, 1.0):
        total = np.where(has, observed.sum(axis=-1) / scale, np.nan)[0]
        budgets = split_latency(total, observed[0] / observed[0].sum(axis=-1, keepdims=True))[None]
        within = (local_cost(budgets, observed) == 0.0).all(axis=-1)
        targets = replace(SlaTargets.from_spec(sc.spec), latency_ms=total + req.app_ms)
        only_latency = replace(targets, reliability=np.full(len(has), np.nan), thp_dl_kbps=np.full(len(has), np.nan),
                               thp_ul_kbps=np.full(len(has), np.nan), fps=np.full(len(has), np.nan))  # fmt: skip
        e2e = sla_cost(only_latency, kpis)
        assert (e2e[within] <= 1e-9).all()


def test_shared_cost_leaves_out_latency_only(testbed: Scenario) -> None:
    _, kpis = _step_kpis("testbed-v0")
    targets = SlaTargets.from_spec(testbed.spec)
    strict = replace(targets, latency_ms=np.array([1.0, np.nan, np.nan]))  # mar would miss 1 ms
    assert sla_cost(strict, kpis)[0, 0] > 0.0
    np.testing.assert_array_equal(shared_cost(strict, kpis), shared_cost(targets, kpis))
    assert shared_cost(strict, kpis)[0, 0] == 0.0
    tight = replace(targets, fps=np.array([np.nan, 1e6, np.nan]))
    assert shared_cost(tight, kpis)[0, 1] > 0.99


def test_cost_adds_the_shared_terms_to_every_group() -> None:
    req = E2eRequirement.create([100.0])
    observed = np.array([[[60.0, 10.0, 10.0]]])
    shared = np.array([[0.3]])
    on = SlaDecomposer.create(req, [[0.5, 0.3, 0.2]])
    state = on.initial(1)
    np.testing.assert_allclose(on.cost(state, observed, shared), [[[0.3, 0.3, 0.3]]])
    np.testing.assert_allclose(on.cost(state, 2 * observed, shared), [[[1.0, 0.3, 0.3]]])
    off = SlaDecomposer.create(req, [[0.5, 0.3, 0.2]], DecompositionConfig(shared_terms=False))
    np.testing.assert_allclose(off.cost(state, 2 * observed, shared), [[[1.0, 0.0, 0.0]]])


def test_updates_are_pure_and_deterministic() -> None:
    dec = _decomposer(np.random.default_rng(5))
    rng = np.random.default_rng(6)
    observations = [_observations(rng, dec) for _ in range(10)]

    def run() -> tuple[np.ndarray, np.ndarray]:
        state = dec.initial(E)
        for obs in observations:
            before = obs.copy()
            state = dec.update(state, obs)
            np.testing.assert_array_equal(obs, before)  # inputs untouched
        return state.budgets_ms, state.smoothed_ms

    a, b = run(), run()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_smoothing_recovers_from_a_starved_slot_and_skips_missing_ones() -> None:
    dec = SlaDecomposer.create(E2eRequirement.create([100.0]), [[0.5, 0.3, 0.2]], DecompositionConfig(smoothing=0.5))
    state = dec.update(dec.initial(1), np.array([[[np.inf, 10.0, np.nan]]]))
    np.testing.assert_array_equal(state.smoothed_ms, [[[100.0, 10.0, np.nan]]])  # capped at the 100 ms budget
    state = dec.update(state, np.array([[[20.0, np.nan, 4.0]]]))
    np.testing.assert_array_equal(state.smoothed_ms, [[[60.0, 10.0, 4.0]]])
    assert np.array_equal(state.budgets_ms.sum(axis=-1), [[100.0]])


def test_reset_restores_the_masked_envs() -> None:
    dec = _decomposer(np.random.default_rng(7))
    state = dec.update(dec.initial(E), _observations(np.random.default_rng(8), dec))
    mask = np.array([True, False, True, False])
    reset = dec.reset(state, mask)
    fresh = dec.initial(E)
    np.testing.assert_array_equal(reset.budgets_ms[mask], fresh.budgets_ms[mask])
    assert np.isnan(reset.smoothed_ms[mask]).all()
    np.testing.assert_array_equal(reset.budgets_ms[~mask], state.budgets_ms[~mask])
    np.testing.assert_array_equal(dec.reset(state).budgets_ms, fresh.budgets_ms)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "greedy"}, "decomposition.method: must be one of 'fixed', 'adaptive', got 'greedy'"),
        ({"step_size": 0.0}, "decomposition.step_size: must be in (0, 1], got 0.0"),
        ({"step_size": 1.5}, "decomposition.step_size: must be in [0, 1], got 1.5"),
        ({"smoothing": float("nan")}, "decomposition.smoothing: must be in [0, 1], got nan"),
        ({"smoothing": 0.0}, "decomposition.smoothing: must be in (0, 1], got 0.0"),
        ({"min_fraction": 1 / 3}, "decomposition.min_fraction: must be in [0, 0.333333), got 0.333"),
        ({"min_fraction": -0.1}, "decomposition.min_fraction: must be in [0, 0.333333), got -0.1"),
        ({"shared_terms": "yes"}, "decomposition.shared_terms: must be a bool, got 'yes'"),
    ],
)
def test_config_errors_name_the_field_and_the_rule(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        DecompositionConfig(**kwargs)  # type: ignore[arg-type]


def test_requirement_and_shares_errors() -> None:
    with pytest.raises(ConfigError, match=r"requirement\.app_ms: must have one entry per slice \(2\)"):
        E2eRequirement.create([10.0, 20.0], [1.0])
    with pytest.raises(ConfigError, match=r"requirement\.latency_ms: must be finite and >= 0"):
        E2eRequirement.create([-1.0])
    with pytest.raises(ConfigError, match=r"requirement\.reliability: must be in \(0, 1\]"):
        E2eRequirement.create([10.0], reliability=[1.5])
    with pytest.raises(ConfigError, match=r"shares: must be finite, >= 0 and shaped \(n_slices, groups\) = \(1, 3\)"):
        SlaDecomposer.create(E2eRequirement.create([10.0]), [[0.5, 0.5]])
    with pytest.raises(ConfigError, match=r"shares: must be finite, >= 0"):
        SlaDecomposer.create(E2eRequirement.create([10.0]), [[-0.5, 1.0, 0.5]])


def test_zero_network_budget_gives_zero_budgets_and_full_cost() -> None:
    dec = SlaDecomposer.create(E2eRequirement.create([5.0], [10.0]))  # the application alone exceeds the SLA
    state = dec.initial(1)
    np.testing.assert_array_equal(state.budgets_ms, np.zeros((1, 1, 3)))
    np.testing.assert_array_equal(dec.cost(state, np.array([[[1.0, 0.0, 2.0]]])), [[[1.0, 0.0, 1.0]]])
