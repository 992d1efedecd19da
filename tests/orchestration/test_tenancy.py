"""Slices that come and go: requests, admission through the lifecycle, departures, rejections, seeding."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.network import scenarios
from netslice.network.scenarios.schema import MAX_REQUESTS_PER_SLOT
from netslice.orchestration.lifecycle import scenario_profile
from netslice.orchestration.orchestrator import Orchestrator
from netslice.orchestration.tenancy import Tenancy


def _with_arrivals(**changes: object) -> scenarios.Scenario:
    return scenarios.with_arrivals(scenarios.load("metro-dynamic-v0"), **changes)


def _story(orch: Orchestrator, slots: int) -> list[tuple[int, ...]]:
    out = []
    for _ in range(slots):
        orch.step()
        out.append(tuple(int(k) for k in np.flatnonzero(orch.active)))
    return out


def test_the_network_follows_the_live_slices() -> None:
    orch = Orchestrator.create("metro-dynamic-v0", n_envs=2, seed=4)
    assert orch.tenancy is not None
    for _ in range(150):
        result = orch.step()
        live = orch.active
        np.testing.assert_array_equal(orch.sim.present, np.broadcast_to(live, orch.sim.present.shape))
        assert np.all(orch.sim.state.traffic.load[:, ~live] == 0.0)  # an absent slot has no UEs
        assert len(orch.tenancy.live) == int(live.sum()) <= orch.scenario.spec.arrivals.max_concurrent  # type: ignore[union-attr]
        assert set(orch.tenancy.live) == set(orch.records)
        assert np.all(result.cost[:, ~orch.assurance.active] >= 0.0)
    m = orch.metrics()
    assert (
        m["tenancy/admitted"] + sum(m[f"tenancy/rejected/{r}"] for r in ("limit", "slots", "capacity"))
        == (m["tenancy/requests"])
    )
    assert m["tenancy/admitted"] - m["tenancy/departed"] == m["tenancy/live"]
    assert m["tenancy/departed"] > 0
    assert m["tenancy/admitted"] > 3


def test_a_released_slot_gets_nothing_and_costs_nothing() -> None:
    orch = Orchestrator.create("metro-dynamic-v0", n_envs=2, seed=0)
    full = np.full((2, 7, orch.scenario.params.n_slices), 0.05)
    for _ in range(60):
        ran = orch.active.copy()  # the slot about to run carries these slices; changes come after it
        prepared = orch.prepare(full)
        assert np.all(prepared.enforced[:, :, ~ran] == 0.0)
        result = orch.step(full)
        assert np.all(result.cost[:, ~ran] == 0.0)
        assert np.all(orch.sim.state.alloc[:, :, ~ran] == 0.0)


def test_arrival_and_departure_times_follow_the_process() -> None:
    """Lifetimes are whole slots >= 1; a slice is live from its admission until its end, across episodes."""
    orch = Orchestrator.create("metro-dynamic-v0", n_envs=1, seed=2)
    assert orch.tenancy is not None
    seen: dict[str, list[int]] = {}
    for t in range(960):
        if t > 0 and t % 96 == 0:
            orch.reset()  # a new day: the orchestrator's slot counter restarts, the tenants' clock does not
        orch.step()
        for sid in orch.records:
            seen.setdefault(sid, []).append(orch.tenancy.clock)
    clock = orch.tenancy.clock
    assert clock == 960
    for adm in orch.tenancy.history:
        assert adm.ends > adm.slot
        if adm.slice_id in seen and adm.ends <= clock:
            slots = seen[adm.slice_id]
            assert slots[-1] == adm.ends - 1
            assert slots == list(range(slots[0], slots[-1] + 1))
    ended = [a for a in orch.tenancy.history if a.ends <= clock and a.slot > 0]
    assert len(ended) > 20  # ten days of 0.5 requests/h, most admitted, all but the live ones gone
    assert 4.0 < float(np.mean([(a.ends - a.slot) * 0.25 for a in ended])) < 13.0  # mean 8 h, exponential


def test_slices_come_and_go_across_days() -> None:
    """Every slot is sometimes live and sometimes not over many days (no slice outlives its lifetime)."""
    orch = Orchestrator.create("metro-dynamic-v0", n_envs=1, seed=0)
    live = np.zeros(orch.scenario.params.n_slices)
    for t in range(96 * 20):
        if t > 0 and t % 96 == 0:
            orch.reset()
        live += orch.active
        orch.step()
    share = live / (96 * 20)
    assert share.max() < 0.95
    assert (share > 0.0).sum() >= 8


def test_rejections_are_counted_by_reason() -> None:
    limit = Orchestrator.create(_with_arrivals(max_concurrent=1, rate_per_hour=4.0), n_envs=1, seed=0)
    _story(limit, 40)
    m = limit.metrics()
    assert m["tenancy/rejected/limit"] > 0
    assert m["tenancy/live"] <= 1
    slots = Orchestrator.create(
        _with_arrivals(max_concurrent=10, rate_per_hour=4.0, mix={"mar": 1.0}), n_envs=1, seed=0
    )
    _story(slots, 40)
    s = slots.metrics()
    assert s["tenancy/rejected/slots"] > 0
    assert s["tenancy/live"] <= 2


def test_same_seed_same_story_different_seed_another() -> None:
    a = _story(Orchestrator.create("metro-dynamic-v0", n_envs=1, seed=7), 200)
    b = _story(Orchestrator.create("metro-dynamic-v0", n_envs=3, seed=7), 200)
    c = _story(Orchestrator.create("metro-dynamic-v0", n_envs=1, seed=8), 200)
    assert a == b  # the requests do not depend on the number of networks
    assert a != c


def test_the_story_does_not_depend_on_the_policy() -> None:
    """Admission checks reservations, not the allocation in force: any policy sees the same requests."""
    lean = Orchestrator.create("metro-dynamic-v0", n_envs=1, seed=3)
    rich = Orchestrator.create("metro-dynamic-v0", n_envs=1, seed=3)
    k = lean.scenario.params.n_slices
    story_lean, story_rich = [], []
    for _ in range(150):
        lean.step(np.full((1, 7, k), 0.01))
        rich.step(np.full((1, 7, k), 0.09))
        story_lean.append(tuple(lean.records))
        story_rich.append(tuple(rich.records))
    assert story_lean == story_rich


def test_a_seeded_reset_restarts_the_process() -> None:
    orch = Orchestrator.create("metro-dynamic-v0", n_envs=1, seed=5)
    first = _story(orch, 30)
    orch.reset(seed=5)
    assert _story(orch, 30) == first


def test_a_slice_terminated_through_the_nrm_is_forgotten() -> None:
    orch = Orchestrator.create("metro-dynamic-v0", n_envs=1, seed=1)
    assert orch.tenancy is not None
    sid = next(iter(orch.records))
    orch.terminate_slice(sid)
    orch.step()
    assert sid not in orch.tenancy.live
    assert sid not in orch.records


def _next_tenant(orch: Orchestrator) -> tuple[str, int]:
    """The id the process gives its next admitted slice, and the slot (of ``orch``'s clock) it arrives at."""
    probe = copy.deepcopy(orch)
    for t in range(1, 200):
        before = set(probe.records)
        probe.step()
        if new := sorted(set(probe.records) - before):
            return new[0], t
    raise AssertionError("no arrival within 200 slots")


def test_an_operator_slice_holding_the_next_tenant_id_does_not_stop_the_process() -> None:
    # A REST client may name its slice as the process names its tenants (``<kind>-<n>``): the process must
    # take another id rather than fail the slot (the server answered POST /ai/v1/slots with a ConflictError).
    orch = Orchestrator.create("metro-dynamic-v0", n_envs=1, seed=0)
    assert orch.tenancy is not None
    sid, slots = _next_tenant(orch)
    kind = sid.rsplit("-", 1)[0]
    k = next(k for k, s in enumerate(orch.scenario.spec.slices) if not orch.active[k] and s.kind != kind)
    orch.create_slice(sid, scenario_profile(orch.scenario, k))
    for _ in range(slots + 1):
        orch.step()
    assert orch.records[sid].index == k  # the operator's slice is untouched
    admitted = [a for a in orch.tenancy.history if a.kind == kind]
    assert admitted
    assert all(a.slice_id != sid for a in admitted)
    assert set(orch.tenancy.live) <= set(orch.records)


def _operator_reuses_a_tenant_id() -> tuple[Orchestrator, str, int, int]:
    """A tenant released by the operator, whose id the operator's own slice takes on another free slot.

    Returns:
        ``(orchestrator, slice id, the operator's slot, the clock at which the tenant's lifetime would have ended)``.
    """
    orch = Orchestrator.create("metro-dynamic-v0", n_envs=1, seed=0)
    assert orch.tenancy is not None
    sid, adm = next(iter(orch.tenancy.live.items()))
    orch.terminate_slice(sid)
    k = next(k for k in range(orch.scenario.params.n_slices) if not orch.active[k] and k != adm.index)
    orch.create_slice(sid, scenario_profile(orch.scenario, k))  # the operator's own slice, same id, another slot
    return orch, sid, k, adm.ends


def test_an_operator_slice_reusing_a_released_tenant_id_is_not_terminated_by_the_process() -> None:
    orch, sid, k, ends = _operator_reuses_a_tenant_id()
    for _ in range(ends + 2):
        orch.step()
    assert sid in orch.records  # the former tenant's lifetime ended; the operator's slice stays
    assert orch.records[sid].index == k


def test_a_seeded_reset_keeps_an_operator_slice_that_reuses_a_released_tenant_id() -> None:
    orch, sid, k, _ = _operator_reuses_a_tenant_id()
    orch.reset(seed=3)  # restarts the process: its own tenants go, the operator's slice stays
    assert orch.records[sid].index == k


def test_static_scenarios_have_no_process() -> None:
    assert Orchestrator.create("metro-v0", n_envs=1, seed=0).tenancy is None
    with pytest.raises(ConfigError, match="no arrivals section"):
        Tenancy.of(scenarios.load("metro-v0"), 0)


def test_arrival_changes_are_validated() -> None:
    with pytest.raises(ConfigError, match="max_concurrent"):
        _with_arrivals(max_concurrent=0)
    with pytest.raises(ConfigError, match="no arrivals section"):
        scenarios.with_arrivals(scenarios.load("metro-v0"), max_concurrent=8)


@pytest.mark.parametrize("field", ["rate_per_hour", "mean_lifetime_h"])
def test_an_infinite_rate_or_lifetime_is_refused_naming_the_field(field: str) -> None:
    # It was accepted, and the first Poisson draw failed with numpy's "lam value too large".
    with pytest.raises(ConfigError, match=rf"arrivals\.{field}: Input should be a finite number"):
        _with_arrivals(**{field: float("inf")})
    data = scenarios.load("metro-dynamic-v0").spec.model_dump(mode="json")
    data["arrivals"][field] = float("inf")  # as YAML's .inf
    with pytest.raises(ConfigError, match=rf"arrivals\.{field}"):
        scenarios.parse(data)


def test_a_request_rate_beyond_admission_control_is_refused_naming_the_field() -> None:
    # 1e9 requests per hour were accepted and the first slot drew (and admitted) them one by one: a hang.
    sc = scenarios.load("metro-dynamic-v0")
    per_hour = MAX_REQUESTS_PER_SLOT * 3600.0 / sc.spec.slot_s
    with pytest.raises(ConfigError, match=r"arrivals\.rate_per_hour: at most 1,000 slice requests per slot"):
        _with_arrivals(rate_per_hour=1e9)
    assert _with_arrivals(rate_per_hour=per_hour).spec.arrivals is not None  # the bound itself is allowed


def test_unknown_kind_in_the_mix_is_refused() -> None:
    sc = scenarios.load("metro-dynamic-v0")
    data = sc.spec.model_dump(mode="json")
    data["arrivals"]["mix"] = {"embb": 1.0, "holo": 1.0}
    with pytest.raises(ConfigError, match=r"arrivals\.mix"):
        scenarios.parse(data)
