"""Action checking and capacity enforcement: known answers, error messages and properties."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from netslice.errors import InvalidAllocationError
from netslice.network import scenarios
from netslice.network.allocation import (
    CN_CPU,
    EDGE_CPU,
    MCS_DL,
    MCS_UL,
    N_RESOURCES,
    PRB_DL,
    PRB_UL,
    RESOURCES,
    TN_BW,
    check_capacity,
)
from netslice.orchestration.capacity import (
    ENFORCERS,
    KNOB_ROWS,
    check_action,
    proportional_scaling,
    reject_over_capacity,
)

N_ENVS, N_SLICES = 2, 3
ONE_SITE = np.zeros(N_SLICES, dtype=np.int64)
#: metro-v0's edge site per slice: embb -> cloud (2), urllc -> edge-a (0), mmtc -> cloud, mar -> edge-b (1),
#: v2x -> edge-a.
METRO_SITES = np.array([2, 0, 2, 1, 0], dtype=np.int64)
HYPOTHESIS = settings(max_examples=60, deadline=None, database=None)


def _valid(n_envs: int = N_ENVS, n_slices: int = N_SLICES) -> np.ndarray:
    return np.full((n_envs, N_RESOURCES, n_slices), 1.0 / n_slices)


def test_metro_sites_are_the_scenario_ones() -> None:
    assert METRO_SITES.tolist() == scenarios.load("metro-v0").params.edge.site_of_slice.tolist()


# ---------------------------------------------------------------------------------------------- check_action


def test_check_action_returns_a_float_array_equal_to_the_input() -> None:
    action = _valid()
    action[1, TN_BW] = [0.0, 0.5, 0.5]
    out = check_action(action, N_ENVS, N_SLICES)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, action)


def test_check_action_accepts_nested_lists_of_ints() -> None:
    action = [[[1, 0, 0]] * N_RESOURCES] * N_ENVS
    out = check_action(action, N_ENVS, N_SLICES)
    assert out.dtype == np.float64
    assert out.shape == (N_ENVS, N_RESOURCES, N_SLICES)
    assert out[:, :, 0].tolist() == [[1.0] * N_RESOURCES] * N_ENVS


def test_check_action_broadcasts_a_2d_action_to_every_env() -> None:
    one = np.linspace(0.0, 1.0, N_RESOURCES * N_SLICES).reshape(N_RESOURCES, N_SLICES)
    out = check_action(one, 4, N_SLICES)
    assert out.shape == (4, N_RESOURCES, N_SLICES)
    for env in range(4):
        np.testing.assert_array_equal(out[env], one)


def test_check_action_does_not_modify_its_input() -> None:
    action = _valid()
    before = action.copy()
    check_action(action, N_ENVS, N_SLICES)
    np.testing.assert_array_equal(action, before)


@pytest.mark.parametrize(
    ("shape", "got"),
    [
        ((N_ENVS, N_RESOURCES, N_SLICES + 1), "(2, 7, 4)"),
        ((N_ENVS + 1, N_RESOURCES, N_SLICES), "(3, 7, 3)"),
        ((1, N_RESOURCES, N_SLICES), "(1, 7, 3)"),  # 3-D actions are not broadcast over envs
        ((N_ENVS, N_SLICES, N_RESOURCES), "(2, 3, 7)"),  # transposed
        ((N_RESOURCES - 1, N_SLICES), "(2, 6, 3)"),  # 2-D with a missing row, after broadcasting
        ((N_RESOURCES,), "(7,)"),
        ((), "()"),
        ((N_ENVS, N_RESOURCES, N_SLICES, 1), "(2, 7, 3, 1)"),
    ],
)
def test_check_action_rejects_wrong_shapes(shape: tuple[int, ...], got: str) -> None:
    with pytest.raises(InvalidAllocationError) as err:
        check_action(np.full(shape, 0.1), N_ENVS, N_SLICES)
    assert str(err.value) == f"action: shape must be (n_envs, n_resources, n_slices) = (2, 7, 3), got {got}"


@pytest.mark.parametrize(
    ("row", "value", "message"),
    [
        (TN_BW, np.nan, "action[tn_bw]: must be finite, got nan (env 1, slice 2)"),
        (PRB_UL, np.inf, "action[prb_ul]: must be finite, got inf (env 1, slice 2)"),
        (EDGE_CPU, -np.inf, "action[edge_cpu]: must be finite, got -inf (env 1, slice 2)"),
        (CN_CPU, -0.1, "action[cn_cpu]: must be in [0, 1], got -0.1 (env 1, slice 2)"),
        (MCS_DL, 1.5, "action[mcs_dl]: must be in [0, 1], got 1.5 (env 1, slice 2)"),
        (PRB_DL, 1e300, "action[prb_dl]: must be in [0, 1], got 1e+300 (env 1, slice 2)"),
    ],
)
def test_check_action_names_the_resource_of_a_bad_value(row: int, value: float, message: str) -> None:
    action = _valid()
    action[1, row, 2] = value
    with pytest.raises(InvalidAllocationError) as err:
        check_action(action, N_ENVS, N_SLICES)
    assert str(err.value) == message


def test_check_action_names_a_bad_value_of_a_broadcast_2d_action() -> None:
    one = np.full((N_RESOURCES, N_SLICES), 0.2)
    one[MCS_UL, 1] = np.nan
    with pytest.raises(InvalidAllocationError, match=r"^action\[mcs_ul\]: must be finite, got nan \(env 0, slice 1\)$"):
        check_action(one, N_ENVS, N_SLICES)


def test_check_action_reports_non_finite_before_out_of_range() -> None:
    action = _valid()
    action[0, PRB_UL, 0] = -5.0  # out of range, first in order
    action[1, EDGE_CPU, 2] = np.nan  # non-finite, later in order
    with pytest.raises(InvalidAllocationError, match=r"^action\[edge_cpu\]: must be finite"):
        check_action(action, N_ENVS, N_SLICES)


def test_check_action_accepts_the_bounds_exactly() -> None:
    action = np.zeros((N_ENVS, N_RESOURCES, N_SLICES))
    action[:, :, 0] = 1.0
    np.testing.assert_array_equal(check_action(action, N_ENVS, N_SLICES), action)


@pytest.mark.parametrize(
    ("action", "type_name"),
    [
        ("abc", "str"),
        (b"\x00\x01", "bytes"),
        ({"prb_ul": [0.1, 0.2, 0.3]}, "dict"),
        ([[0.1, 0.2], [0.3]], "list"),  # ragged
        ([[[0.1, "x", 0.3]] * N_RESOURCES] * N_ENVS, "list"),  # a non-numeric entry
        (object(), "object"),
        (np.array(["a", "b"]), "ndarray"),
    ],
)
def test_check_action_rejects_non_numeric_input(action: object, type_name: str) -> None:
    with pytest.raises(InvalidAllocationError) as err:
        check_action(action, N_ENVS, N_SLICES)
    assert str(err.value) == f"action: must be an array of real numbers, got {type_name}"


def test_check_action_rejects_an_int_too_large_for_a_float() -> None:
    action = _valid().tolist()
    action[0][TN_BW][0] = 10**400
    with pytest.raises(InvalidAllocationError, match=r"action"):
        check_action(action, N_ENVS, N_SLICES)


def test_check_action_rejects_a_complex_array() -> None:
    action = _valid().astype(np.complex128)
    action[0, PRB_UL, 0] += 0.5j
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ComplexWarning is what numpy says; the contract is the error
        with pytest.raises(InvalidAllocationError, match=r"action"):
            check_action(action, N_ENVS, N_SLICES)


# ---------------------------------------------------------------------------------------------- proportional scaling


def test_proportional_scaling_known_answer_one_site() -> None:
    alloc = np.zeros((1, N_RESOURCES, N_SLICES))
    alloc[0, PRB_UL] = [0.8, 0.4, 0.8]  # sum 2.0 -> halved
    alloc[0, PRB_DL] = [0.2, 0.3, 0.1]  # sum 0.6 -> untouched
    alloc[0, MCS_UL] = [1.0, 1.0, 1.0]  # knob: sum 3.0 but never scaled
    alloc[0, MCS_DL] = [0.9, 0.9, 0.9]  # knob
    alloc[0, TN_BW] = [0.5, 0.5, 0.0]  # sum exactly 1 -> untouched
    alloc[0, CN_CPU] = [1.0, 1.0, 1.0]  # sum 3.0 -> a third each
    alloc[0, EDGE_CPU] = [0.6, 0.6, 0.3]  # sum 1.5 -> [0.4, 0.4, 0.2]
    out = proportional_scaling(alloc, ONE_SITE)[0]
    np.testing.assert_allclose(out[PRB_UL], [0.4, 0.2, 0.4], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(out[PRB_DL], [0.2, 0.3, 0.1])
    np.testing.assert_array_equal(out[MCS_UL], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(out[MCS_DL], [0.9, 0.9, 0.9])
    np.testing.assert_array_equal(out[TN_BW], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(out[CN_CPU], [1 / 3, 1 / 3, 1 / 3], rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[EDGE_CPU], [0.4, 0.4, 0.2], rtol=0, atol=1e-15)
    for row in (PRB_UL, CN_CPU, EDGE_CPU):  # over-subscribed rows now sum to exactly 1
        assert out[row].sum() == pytest.approx(1.0, abs=1e-15)


def test_proportional_scaling_scales_each_env_on_its_own() -> None:
    alloc = np.full((3, N_RESOURCES, N_SLICES), 0.2)
    alloc[1, TN_BW] = [1.0, 1.0, 0.0]
    out = proportional_scaling(alloc, ONE_SITE)
    np.testing.assert_array_equal(out[[0, 2]], alloc[[0, 2]])
    np.testing.assert_allclose(out[1, TN_BW], [0.5, 0.5, 0.0], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(np.delete(out[1], TN_BW, axis=0), np.delete(alloc[1], TN_BW, axis=0))


def test_proportional_scaling_scales_edge_shares_per_site_on_metro() -> None:
    alloc = np.full((1, N_RESOURCES, 5), 0.1)
    # slices (embb, urllc, mmtc, mar, v2x) on sites (cloud, edge-a, cloud, edge-b, edge-a); total 3.0
    alloc[0, EDGE_CPU] = [0.6, 0.9, 0.7, 0.5, 0.3]
    out = proportional_scaling(alloc, METRO_SITES)[0]
    edge_a = 0.9 + 0.3  # 1.2 -> scaled
    cloud = 0.6 + 0.7  # 1.3 -> scaled
    expected = [0.6 / cloud, 0.9 / edge_a, 0.7 / cloud, 0.5, 0.3 / edge_a]  # edge-b (0.5) is within capacity
    np.testing.assert_allclose(out[EDGE_CPU], expected, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(np.delete(out, EDGE_CPU, axis=0), np.delete(alloc[0], EDGE_CPU, axis=0))
    check_capacity(out[None], METRO_SITES)


def test_proportional_scaling_leaves_edge_alone_when_every_site_is_within_capacity() -> None:
    alloc = np.full((1, N_RESOURCES, 5), 0.1)
    alloc[0, EDGE_CPU] = [0.5, 0.5, 0.5, 1.0, 0.5]  # total 3.0, but each site sums to 1.0
    out = proportional_scaling(alloc, METRO_SITES)
    np.testing.assert_array_equal(out, alloc)


def test_proportional_scaling_does_not_modify_its_input() -> None:
    alloc = np.ones((N_ENVS, N_RESOURCES, N_SLICES))
    before = alloc.copy()
    out = proportional_scaling(alloc, ONE_SITE)
    np.testing.assert_array_equal(alloc, before)
    assert not np.shares_memory(out, alloc)
    out_metro = proportional_scaling(np.ones((N_ENVS, N_RESOURCES, 5)), METRO_SITES)
    assert out_metro.min() > 0.0


def test_proportional_scaling_returns_a_copy_even_when_nothing_changes() -> None:
    alloc = _valid()
    out = proportional_scaling(alloc, ONE_SITE)
    np.testing.assert_array_equal(out, alloc)
    assert not np.shares_memory(out, alloc)


def test_enforcers_registry() -> None:
    assert {"proportional": proportional_scaling, "reject": reject_over_capacity} == ENFORCERS
    assert KNOB_ROWS == (MCS_UL, MCS_DL)


# ---------------------------------------------------------------------------------------------- reject


@pytest.mark.parametrize("row", [PRB_UL, PRB_DL, TN_BW, CN_CPU, EDGE_CPU])
def test_reject_over_capacity_names_the_row(row: int) -> None:
    alloc = np.full((N_ENVS, N_RESOURCES, N_SLICES), 0.1)
    alloc[1, row] = [0.5, 0.4, 0.3]
    where = "edge site 0" if row == EDGE_CPU else "the node"
    message = f"action[{RESOURCES[row]}]: shares on {where} must sum to at most 1 over slices, got 1.200000 (env 1)"
    with pytest.raises(InvalidAllocationError) as err:
        reject_over_capacity(alloc, ONE_SITE)
    assert str(err.value) == message


def test_reject_over_capacity_ignores_the_knob_rows_and_returns_a_copy() -> None:
    alloc = np.full((N_ENVS, N_RESOURCES, N_SLICES), 0.2)
    alloc[:, [MCS_UL, MCS_DL]] = 1.0
    out = reject_over_capacity(alloc, ONE_SITE)
    np.testing.assert_array_equal(out, alloc)
    assert not np.shares_memory(out, alloc)


def test_reject_over_capacity_checks_edge_shares_per_site_on_metro() -> None:
    alloc = np.full((1, N_RESOURCES, 5), 0.1)
    alloc[0, EDGE_CPU] = [0.5, 0.5, 0.5, 1.0, 0.5]  # every site at exactly 1
    reject_over_capacity(alloc, METRO_SITES)
    alloc[0, EDGE_CPU, 4] = 0.7  # edge-a: urllc 0.5 + v2x 0.7
    with pytest.raises(InvalidAllocationError, match=r"^action\[edge_cpu\]: shares on edge site 0 .* got 1\.200000"):
        reject_over_capacity(alloc, METRO_SITES)


# ---------------------------------------------------------------------------------------------- properties


@st.composite
def unit_allocations(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """An allocation with every entry in [0, 1] (often over capacity) and its edge sites."""
    sites = draw(st.sampled_from([ONE_SITE, METRO_SITES, np.array([0, 1, 1, 0], dtype=np.int64)]))
    n_envs = draw(st.integers(1, 3))
    elements = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 1e-300, 1.0 - 1e-16]))
    alloc = draw(hnp.arrays(np.float64, (n_envs, N_RESOURCES, sites.size), elements=elements))
    return alloc, sites


@HYPOTHESIS
@given(unit_allocations())
def test_proportional_scaling_is_within_capacity_and_never_adds(case: tuple[np.ndarray, np.ndarray]) -> None:
    alloc, sites = case
    before = alloc.copy()
    out = proportional_scaling(alloc, sites)
    np.testing.assert_array_equal(alloc, before)
    check_capacity(out, sites, "scaled")
    reject_over_capacity(out, sites)
    assert np.all(out <= alloc)
    assert np.all(out >= 0.0)
    np.testing.assert_array_equal(out[:, list(KNOB_ROWS)], alloc[:, list(KNOB_ROWS)])
    # a node within capacity keeps its shares exactly; an over-subscribed one keeps their proportions
    for row in (PRB_UL, PRB_DL, TN_BW, CN_CPU, EDGE_CPU):
        for site in np.unique(sites) if row == EDGE_CPU else [None]:
            cols = np.flatnonzero(sites == site) if site is not None else np.arange(sites.size)
            total = alloc[:, row][:, cols].sum(axis=1)
            for env in range(alloc.shape[0]):
                got, given_ = out[env, row, cols], alloc[env, row, cols]
                np.testing.assert_allclose(got, given_ / max(total[env], 1.0), rtol=1e-12, atol=0)
                if total[env] < 1.0 - 1e-9:  # clearly within capacity: untouched, to the bit
                    np.testing.assert_array_equal(got, given_)
                elif total[env] > 1.0:
                    assert got.sum() == pytest.approx(1.0, abs=1e-12)


@HYPOTHESIS
@given(
    hnp.arrays(np.float64, (N_ENVS, N_RESOURCES, 5), elements=st.floats(0.0, 1.0)),
    st.sampled_from([np.zeros(5, dtype=np.int64), METRO_SITES]),
)
def test_enforcers_within_rules_keep_checked_actions_valid(action: np.ndarray, sites: np.ndarray) -> None:
    # The orchestrator skips the managers' value and node-sum checks after these enforcers (WITHIN_RULES).
    from netslice.network.allocation import check_values
    from netslice.orchestration.capacity import WITHIN_RULES

    for enforcer in WITHIN_RULES:
        try:
            out = enforcer(check_action(action, N_ENVS, 5), sites)
        except InvalidAllocationError:
            assert enforcer is reject_over_capacity
            continue
        check_values(out)
        check_capacity(out, sites)
