"""Domain managers: row ownership, validation, enforcement with faults contained, measurements."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import numpy as np
import pytest

from netslice.errors import InvalidAllocationError
from netslice.network import scenarios
from netslice.network.allocation import (
    DOMAINS,
    EDGE_CPU,
    MCS_DL,
    MCS_UL,
    N_RESOURCES,
    PRB_DL,
    PRB_UL,
    RESOURCES,
    TN_BW,
)
from netslice.network.kernel import Kpis
from netslice.network.scenarios import Scenario
from netslice.network.simulator import Simulator
from netslice.orchestration import domains
from netslice.orchestration.domains import (
    DOMAIN_OF_ROW,
    MEASUREMENTS,
    ROWS,
    DomainManager,
    make_managers,
)
from netslice.orchestration.enforcement import DomainFault, enforce_all

N_ENVS = 2
OVER = "shares on the node must sum to at most 1 over slices,"
Managers = dict[str, DomainManager]


def _delays(sc: Scenario) -> dict[str, float]:
    return {d: getattr(sc.spec.enforcement, f"{d}_ms") / 1e3 for d in DOMAINS}


@pytest.fixture
def managers(testbed: Scenario) -> Managers:
    return make_managers(testbed.params, N_ENVS, _delays(testbed), timeout_s=0.5)


@pytest.fixture(scope="module")
def kpis() -> Kpis:
    sim = Simulator(scenarios.load("testbed-v0").params, n_envs=N_ENVS, seed=3, backend="numpy")
    return sim.step(sim.params.initial_allocation)


def _new_allocation(n_slices: int = 3) -> np.ndarray:
    """An allocation within capacity that differs from testbed-v0's initial one in every row."""
    alloc = np.empty((N_ENVS, N_RESOURCES, n_slices))
    alloc[:] = np.array([0.3, 0.3, 0.3])
    alloc[:, [MCS_UL, MCS_DL]] = 0.5
    alloc[1, TN_BW] = [0.1, 0.2, 0.7]
    return alloc


def _rows(alloc: np.ndarray, mgr: DomainManager) -> np.ndarray:
    return alloc[:, list(mgr.rows), :]


# ---------------------------------------------------------------------------------------------- construction


def test_rows_cover_every_resource_exactly_once(managers: Managers) -> None:
    owned = [row for mgr in managers.values() for row in mgr.rows]
    assert sorted(owned) == list(range(N_RESOURCES))
    assert len(owned) == len(set(owned))
    assert tuple(managers) == DOMAINS
    names = {name: tuple(RESOURCES[r] for r in mgr.rows) for name, mgr in managers.items()}
    assert names == {
        "ran": ("prb_ul", "prb_dl", "mcs_ul", "mcs_dl"),
        "tn": ("tn_bw",),
        "cn": ("cn_cpu",),
        "edge": ("edge_cpu",),
    }
    assert {r: DOMAIN_OF_ROW[r] for r in range(N_RESOURCES)} == {r: name for name, rows in ROWS.items() for r in rows}


def test_managers_start_from_the_initial_allocation(testbed: Scenario, managers: Managers) -> None:
    initial = testbed.params.initial_allocation
    for mgr in managers.values():
        assert mgr.in_force.shape == (N_ENVS, len(mgr.rows), 3)
        for env in range(N_ENVS):
            np.testing.assert_array_equal(mgr.in_force[env], initial[list(mgr.rows)])
    assert not any(np.shares_memory(a.in_force, b.in_force) for a in managers.values() for b in managers.values()
                   if a is not b)  # fmt: skip
    ran = managers["ran"]
    assert ran.rrm is not None
    assert all(managers[d].rrm is None for d in ("tn", "cn", "edge"))
    np.testing.assert_array_equal(ran.current(), ran.in_force)  # d = m = M = share maps back to the share


def test_managers_carry_the_scenario_enforcement_delays_and_timeout(managers: Managers) -> None:
    # testbed-v0: ran 1 ms, tn 20 ms, cn 1000 ms, edge 1000 ms
    assert {n: m.enforce_delay_s for n, m in managers.items()} == {"ran": 0.001, "tn": 0.02, "cn": 1.0, "edge": 1.0}
    assert {m.timeout_s for m in managers.values()} == {0.5}


# ---------------------------------------------------------------------------------------------- validation


def _set(env: int, i: int, k: int, value: float) -> Callable[[np.ndarray], np.ndarray]:
    def mutate(part: np.ndarray) -> np.ndarray:
        part[env, i, k] = value
        return part

    return mutate


def _row(i: int, values: list[float]) -> Callable[[np.ndarray], np.ndarray]:
    def mutate(part: np.ndarray) -> np.ndarray:
        part[1, i] = values
        return part

    return mutate


@pytest.mark.parametrize(
    ("domain", "mutate", "message"),
    [
        ("ran", _set(0, 3, 1, np.nan), "ran[mcs_dl]: must be finite, got nan (env 0, slice 1)"),
        ("ran", _set(1, 0, 2, -0.25), "ran[prb_ul]: must be in [0, 1], got -0.25 (env 1, slice 2)"),
        ("tn", _set(1, 0, 0, np.inf), "tn[tn_bw]: must be finite, got inf (env 1, slice 0)"),
        ("cn", _set(0, 0, 2, 1.5), "cn[cn_cpu]: must be in [0, 1], got 1.5 (env 0, slice 2)"),
        (
            "ran",
            _row(1, [0.5, 0.5, 0.5]),
            f"ran[prb_dl]: {OVER} got 1.500000 (env 1)",
        ),
        ("tn", _row(0, [0.9, 0.2, 0.0]), f"tn[tn_bw]: {OVER} got 1.100000 (env 1)"),
        ("cn", _row(0, [1.0, 1.0, 1.0]), f"cn[cn_cpu]: {OVER} got 3.000000 (env 1)"),
        (
            "edge",
            _row(0, [0.5, 0.5, 0.25]),
            "edge[edge_cpu]: shares on edge site 0 must sum to at most 1 over slices, got 1.250000 (env 1)",
        ),
    ],
)  # fmt: skip
def test_validate_names_the_field_and_the_rule(
    managers: Managers, domain: str, mutate: Callable[[np.ndarray], np.ndarray], message: str
) -> None:
    mgr = managers[domain]
    part = mutate(np.array(mgr.in_force, copy=True) * 0.5)
    with pytest.raises(InvalidAllocationError) as err:
        mgr.validate(part)
    assert str(err.value) == message


@pytest.mark.parametrize("domain", DOMAINS)
def test_validate_rejects_a_wrong_shape(managers: Managers, domain: str) -> None:
    mgr = managers[domain]
    n = len(mgr.rows)
    with pytest.raises(InvalidAllocationError) as err:
        mgr.validate(np.zeros((N_ENVS, n + 1, 3)))
    assert str(err.value) == f"{domain}: allocation shape must be ({N_ENVS}, {n}, 3), got ({N_ENVS}, {n + 1}, 3)"


def test_validate_does_not_sum_the_mcs_knobs(managers: Managers) -> None:
    part = np.array(managers["ran"].in_force, copy=True)
    part[:, 2:] = 1.0  # both MCS knob rows at their maximum for every slice: sums of 3, but knobs
    managers["ran"].validate(part)


def test_edge_validation_sums_per_site_on_metro() -> None:
    metro = scenarios.load("metro-v0")
    mgr = make_managers(metro.params, 1, _delays(metro))["edge"]
    part = np.array([[[0.5, 0.5, 0.5, 1.0, 0.5]]])  # sites (cloud, edge-a, cloud, edge-b, edge-a): all at 1
    mgr.validate(part)
    part[0, 0, 1] = 0.75  # edge-a: 0.75 + 0.5
    with pytest.raises(InvalidAllocationError, match=r"^edge\[edge_cpu\]: shares on edge site 0 .* got 1\.250000"):
        mgr.validate(part)


# ---------------------------------------------------------------------------------------------- apply


def test_apply_stores_a_copy(managers: Managers) -> None:
    mgr = managers["tn"]
    part = np.full((N_ENVS, 1, 3), 0.25)
    out = mgr.apply(part)
    part[:] = 0.9  # the caller's array changes afterwards ...
    np.testing.assert_array_equal(mgr.in_force, np.full((N_ENVS, 1, 3), 0.25))  # ... the allocation in force does not
    assert out is mgr.in_force
    assert not np.shares_memory(mgr.in_force, part)


def test_apply_of_an_invalid_part_keeps_the_allocation_in_force(managers: Managers) -> None:
    mgr = managers["cn"]
    before = mgr.in_force
    with pytest.raises(InvalidAllocationError, match=r"cn\[cn_cpu\]"):
        mgr.apply(np.full((N_ENVS, 1, 3), 0.5))
    assert mgr.in_force is before


def test_ran_apply_sets_the_rrm_policies_to_the_shares(managers: Managers) -> None:
    ran = managers["ran"]
    part = _rows(_new_allocation(), ran)
    ran.apply(part)
    assert ran.rrm is not None
    np.testing.assert_array_equal(ran.rrm.shares(), part[:, :2])
    np.testing.assert_array_equal(ran.current(), part)


def test_the_fault_hook_sees_the_part_before_it_is_enforced(managers: Managers) -> None:
    seen: list[np.ndarray] = []
    mgr = managers["edge"]
    mgr.fault_hook = lambda part: seen.append(part.copy())
    part = np.full((N_ENVS, 1, 3), 0.3)
    mgr.apply(part)
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], part)


# ---------------------------------------------------------------------------------------------- observe


def test_measurement_names_match_the_documented_table() -> None:
    doc = domains.__doc__
    assert doc is not None
    documented = set(re.findall(r"^``([A-Za-z.]+)``\s", doc, flags=re.MULTILINE))
    assert documented == {name for names in MEASUREMENTS.values() for name in names}
    assert len(documented) == 11


def test_observe_returns_the_documented_measurements(managers: Managers, kpis: Kpis) -> None:
    expected = {
        "ran": ("RRU.PrbUsedUl", "RRU.PrbUsedDl", "DRB.MeanActiveUeDl", "DRB.UEThpDl", "DRB.UEThpUl",
                "CARR.WBCQIMean", "RAN.DelayMean"),
        "tn": ("TN.DelayMean",),
        "cn": ("GTP.DelayDlInPsaUpfMean", "VR.VCpuUsageMean"),
        "edge": ("EAS.ResponseTimeMean", "VR.VCpuUsageMean"),
    }  # fmt: skip
    for name, mgr in managers.items():
        got = mgr.observe(kpis)
        assert tuple(got) == expected[name] == mgr.measurement_names
        for meas, values in got.items():
            assert values.shape == (N_ENVS, 3), (name, meas)
            assert np.isfinite(values).all(), (name, meas)


def test_observe_scales_to_the_documented_units(testbed: Scenario, managers: Managers, kpis: Kpis) -> None:
    prb_ul, prb_dl = testbed.params.ran.prb.sum(axis=1)
    ran = managers["ran"].observe(kpis)
    np.testing.assert_allclose(ran["RRU.PrbUsedUl"], kpis.prb_used_ul / 100.0 * prb_ul, rtol=1e-12)  # % -> PRBs
    np.testing.assert_allclose(ran["RRU.PrbUsedDl"], kpis.prb_used_dl / 100.0 * prb_dl, rtol=1e-12)
    np.testing.assert_array_equal(ran["DRB.UEThpDl"], kpis.thp_dl_kbps)
    np.testing.assert_array_equal(ran["DRB.MeanActiveUeDl"], kpis.active_ues)
    np.testing.assert_array_equal(ran["RAN.DelayMean"], kpis.ran_ms)
    np.testing.assert_array_equal(managers["tn"].observe(kpis)["TN.DelayMean"], kpis.tn_ms)
    cn = managers["cn"].observe(kpis)
    np.testing.assert_allclose(cn["GTP.DelayDlInPsaUpfMean"], kpis.cn_ms * 1e3, rtol=1e-15)  # ms -> µs
    np.testing.assert_array_equal(cn["VR.VCpuUsageMean"], kpis.cpu_load_cn)
    edge = managers["edge"].observe(kpis)
    np.testing.assert_array_equal(edge["EAS.ResponseTimeMean"], kpis.edge_ms)
    np.testing.assert_array_equal(edge["VR.VCpuUsageMean"], kpis.cpu_load_edge)


# ---------------------------------------------------------------------------------------------- enforce_all


def test_enforce_all_without_faults_puts_the_whole_allocation_in_force(managers: Managers) -> None:
    alloc = _new_allocation()
    out, faults = enforce_all(managers, alloc, slot=3)
    assert faults == []
    np.testing.assert_array_equal(out, alloc)
    for mgr in managers.values():
        np.testing.assert_array_equal(mgr.in_force, _rows(alloc, mgr))


def _raise(message: str) -> Callable[[np.ndarray], None]:
    def hook(part: np.ndarray) -> None:
        raise RuntimeError(message)

    return hook


def test_enforce_all_contains_a_raising_manager(managers: Managers) -> None:
    previous = managers["tn"].in_force.copy()
    managers["tn"].fault_hook = _raise("link down")
    alloc = _new_allocation()
    out, faults = enforce_all(managers, alloc, slot=7)
    assert faults == [DomainFault("tn", "error", "RuntimeError: link down", 7)]
    np.testing.assert_array_equal(out[:, TN_BW : TN_BW + 1], previous)  # tn keeps its previous allocation
    np.testing.assert_array_equal(managers["tn"].in_force, previous)
    others = [r for r in range(N_RESOURCES) if r != TN_BW]
    np.testing.assert_array_equal(out[:, others], alloc[:, others])  # the other domains take the new one
    for name in ("ran", "cn", "edge"):
        np.testing.assert_array_equal(managers[name].in_force, _rows(alloc, managers[name]))


def test_enforce_all_reports_every_failing_manager_in_domain_order(managers: Managers) -> None:
    previous = {name: mgr.in_force.copy() for name, mgr in managers.items()}
    managers["edge"].fault_hook = _raise("edge host unreachable")
    managers["ran"].fault_hook = _raise("gNB rejected the policy")
    alloc = _new_allocation()
    out, faults = enforce_all(managers, alloc, slot=0)
    assert [(f.domain, f.kind, f.message) for f in faults] == [
        ("ran", "error", "RuntimeError: gNB rejected the policy"),
        ("edge", "error", "RuntimeError: edge host unreachable"),
    ]
    np.testing.assert_array_equal(out[:, list(ROWS["ran"])], previous["ran"])
    np.testing.assert_array_equal(out[:, EDGE_CPU : EDGE_CPU + 1], previous["edge"])
    np.testing.assert_array_equal(out[:, [TN_BW, TN_BW + 1]], alloc[:, [TN_BW, TN_BW + 1]])  # tn and cn
    assert managers["ran"].rrm is not None
    np.testing.assert_array_equal(managers["ran"].current(), previous["ran"])  # the RRM policies were not touched


def test_enforce_all_reports_an_invalid_part_as_an_error_fault(managers: Managers) -> None:
    previous = managers["cn"].in_force.copy()
    alloc = _new_allocation()
    alloc[:, TN_BW + 1] = 0.6  # cn_cpu over capacity: the caller should not send this, the manager refuses it
    out, faults = enforce_all(managers, alloc, slot=2)
    assert len(faults) == 1
    assert (faults[0].domain, faults[0].kind) == ("cn", "error")
    assert faults[0].message.startswith("InvalidAllocationError: cn[cn_cpu]: shares on the node must sum")
    np.testing.assert_array_equal(out[:, TN_BW + 1 : TN_BW + 2], previous)


def _sleep(seconds: float) -> Callable[[np.ndarray], None]:
    def hook(part: np.ndarray) -> None:
        time.sleep(seconds)

    return hook


def test_enforce_all_discards_a_manager_that_overruns_its_deadline(testbed: Scenario) -> None:
    managers = make_managers(testbed.params, N_ENVS, _delays(testbed), timeout_s=0.01)
    previous = managers["edge"].in_force.copy()
    managers["edge"].fault_hook = _sleep(0.05)
    alloc = _new_allocation()
    out, faults = enforce_all(managers, alloc, slot=5)
    assert len(faults) == 1
    fault = faults[0]
    assert (fault.domain, fault.kind, fault.slot) == ("edge", "timeout", 5)
    assert re.fullmatch(r"apply took \d+\.\d{3} s > 0\.01 s", fault.message), fault.message
    np.testing.assert_array_equal(out[:, EDGE_CPU : EDGE_CPU + 1], previous)
    np.testing.assert_array_equal(managers["edge"].in_force, previous)
    np.testing.assert_array_equal(out[:, :EDGE_CPU], alloc[:, :EDGE_CPU])


def test_a_ran_timeout_leaves_the_rrm_policies_unchanged(testbed: Scenario) -> None:
    managers = make_managers(testbed.params, N_ENVS, _delays(testbed), timeout_s=0.01)
    ran = managers["ran"]
    previous = ran.in_force.copy()
    ran.fault_hook = _sleep(0.05)
    _, faults = enforce_all(managers, _new_allocation(), slot=0)
    assert [f.kind for f in faults] == ["timeout"]
    np.testing.assert_array_equal(ran.in_force, previous)  # holds
    np.testing.assert_array_equal(ran.current()[:, [PRB_UL, PRB_DL]], previous[:, [PRB_UL, PRB_DL]])  # fails


def test_enforce_all_with_a_valid_allocation_still_runs_the_fault_hooks(managers: Managers) -> None:
    # valid_under skips the value and sum checks only; each manager still stages (shape, fault hook) and commits.
    alloc = _new_allocation()
    calls: list[str] = []
    for name, mgr in managers.items():
        mgr.fault_hook = lambda part, name=name: calls.append(name)
    sites = next(iter(managers.values())).site_of_slice
    out, faults = enforce_all(managers, alloc, slot=1, valid_under=sites)
    assert faults == []
    assert calls == list(managers)
    assert np.array_equal(out, alloc)
