"""One owner per piece of state (docs/architecture.md): each rule of the ownership table, tested.

=====================================  ====================================================================
state                                  owner
=====================================  ====================================================================
network state (incl. last allocation)  Simulator (reset, step)
allocation in force of a domain        its DomainManager (stage/commit, reset_envs, set_share, release, ...)
RRMPolicyRatio quotas and NRM ids      the RAN DomainManager (put_rrm_policy, delete_rrm_policy, ...)
provisioned slices, SLA targets        ServiceAssurance (admit, release)
=====================================  ====================================================================

Two kinds of test: behaviour (writes from outside fail, the owners stay consistent, dry run and step
agree), and a static check of the source that no module writes another owner's private state.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import netslice
from netslice.errors import InvalidAllocationError
from netslice.network.allocation import N_RESOURCES
from netslice.orchestration import views
from netslice.orchestration.api.agent import dry_run
from netslice.orchestration.lifecycle import scenario_profile
from netslice.orchestration.nrm import RRMPolicyMember, share_to_ratio
from netslice.orchestration.nrm.common import ResourceType
from netslice.orchestration.orchestrator import Orchestrator

SRC = Path(netslice.__file__).parent


@pytest.fixture
def orch() -> Orchestrator:
    return Orchestrator.create("testbed-v0", n_envs=3, seed=0, backend="numpy")


def _in_force(o: Orchestrator) -> np.ndarray:
    out = np.empty((o.n_envs, N_RESOURCES, o.scenario.params.n_slices))
    for mgr in o.managers.values():
        out[:, list(mgr.rows), :] = mgr.in_force
    return out


# ------------------------------------------------------------------------------------------- network state


def test_only_the_simulator_replaces_the_network_state(orch: Orchestrator) -> None:
    with pytest.raises(AttributeError):
        orch.sim.state = orch.sim.state  # type: ignore[misc]
    before = orch.sim.state
    orch.step(_in_force(orch))
    assert orch.sim.state is not before  # step replaced it, as reset does
    assert orch.sim.reset(seed=1) is orch.sim.state


def test_reset_puts_the_same_allocation_in_the_network_and_in_every_manager(orch: Orchestrator) -> None:
    orch.terminate_slice("video")
    for mask in (None, np.array([True, False, True])):
        orch.step(np.full((N_RESOURCES, 3), 0.3))
        obs = orch.reset(mask=mask)
        np.testing.assert_array_equal(obs.allocation, orch.sim.state.alloc)
        reset_envs = slice(None) if mask is None else mask
        np.testing.assert_array_equal(obs.allocation[reset_envs], _in_force(orch)[reset_envs])
        assert (obs.allocation[reset_envs][:, :, 1] == 0.0).all()  # the terminated slice gets nothing


# ----------------------------------------------------------------------------------------- allocation in force


def test_the_allocation_in_force_is_read_only_outside_its_manager(orch: Orchestrator) -> None:
    for name, mgr in orch.managers.items():
        with pytest.raises(ValueError, match="read-only"):
            mgr.in_force[0, 0, 0] = 0.5
        with pytest.raises(AttributeError):
            mgr.in_force = np.zeros_like(mgr.in_force)  # type: ignore[misc]
        assert not mgr.current().flags.writeable, name


def test_a_failed_enforcement_changes_nothing_in_the_manager(orch: Orchestrator) -> None:
    ran = orch.managers["ran"]
    before_alloc, before_rrm = ran.in_force, ran.rrm

    def boom(part: np.ndarray) -> None:
        raise RuntimeError("gNB rejected the policy")

    ran.fault_hook = boom
    result = orch.step(np.full((N_RESOURCES, 3), 0.2))
    assert [f.domain for f in result.faults] == ["ran"]
    assert ran.in_force is before_alloc  # nothing staged was committed ...
    assert ran.rrm is not None
    assert before_rrm is not None
    for name in ("dedicated", "minimum", "maximum"):  # ... (only the need follows the slot's measurements)
        assert getattr(ran.rrm, name) is getattr(before_rrm, name)


# ------------------------------------------------------------------------------------------------ RRM state


def test_rrm_state_is_immutable_and_only_the_ran_manager_replaces_it(orch: Orchestrator) -> None:
    ran = orch.managers["ran"]
    rrm = ran.rrm
    assert rrm is not None
    for name in ("dedicated", "minimum", "maximum", "need"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(rrm, name)[0, 0, 0] = 0.9
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(rrm, name, np.zeros_like(getattr(rrm, name)))
    with pytest.raises(AttributeError):
        ran.rrm = rrm  # type: ignore[misc]
    with pytest.raises(TypeError):
        ran.rrm_ids["mine"] = ((0,), 0)  # type: ignore[index]
    assert orch.managers["tn"].rrm is None
    with pytest.raises(InvalidAllocationError, match="RAN domain only"):
        orch.managers["tn"].put_rrm_policy("x", (0,), 0, (0.0, 0.1, 0.2))


def test_nrm_writes_reach_the_rrm_state_through_the_ran_manager(orch: Orchestrator) -> None:
    snssai = views.snssai_of(orch, 0)
    member = RRMPolicyMember(plmn_id=views.plmns_of(orch, 0)[0], snssai=snssai)
    policy = share_to_ratio(0.1, 0.3, 0.8, policy_id="mine", resource_type=ResourceType.PRB_UL, members=[member])
    views.put_rrm_policy(orch, policy)
    ran = orch.managers["ran"]
    assert dict(ran.rrm_ids) == {"mine": ((0,), 0)}
    assert ran.rrm is not None
    np.testing.assert_allclose([ran.rrm.dedicated[0, 0, 0], ran.rrm.minimum[0, 0, 0], ran.rrm.maximum[0, 0, 0]],
                               [0.1, 0.3, 0.8])  # fmt: skip
    orch.terminate_slice("mar")  # the slice's policies and ids go with it
    assert dict(ran.rrm_ids) == {}
    assert (ran.rrm.dedicated[:, :, 0] == 0.0).all()


# ---------------------------------------------------------------------------------- slices and SLA targets


def test_provisioned_slices_and_targets_change_only_through_the_assurance(orch: Orchestrator) -> None:
    with pytest.raises(ValueError, match="read-only"):
        orch.active[0] = False
    with pytest.raises(AttributeError):
        orch.assurance.targets = orch.assurance.targets  # type: ignore[misc]
    orch.terminate_slice(next(iter(orch.records)))
    assert orch.active.sum() == 2
    k = int(np.flatnonzero(~orch.active)[0])
    orch.create_slice("again", scenario_profile(orch.scenario, k))
    assert orch.active.all()


# ------------------------------------------------------------------------------------ one action pipeline


@pytest.mark.parametrize("enforcer", ["proportional", "reject"])
def test_dry_run_and_step_agree_on_the_enforced_allocation(enforcer: str) -> None:
    rng = np.random.default_rng(7)
    for trial in range(40):
        orch = Orchestrator.create("metro-v0" if trial % 4 == 3 else "testbed-v0", n_envs=2, seed=trial,
                                   backend="numpy", enforcer=enforcer)  # fmt: skip
        if trial % 3 == 1:
            orch.terminate_slice(next(iter(orch.records)))
        shape = (orch.n_envs, N_RESOURCES, orch.scenario.params.n_slices)
        action = rng.random(shape) * rng.choice([0.3, 1.0])  # within and over capacity
        try:
            checked = dry_run(orch, action)
        except InvalidAllocationError as err:  # the strict enforcer refuses; the slot must refuse alike
            with pytest.raises(InvalidAllocationError, match=re.escape(str(err))):
                orch.step(action)
            continue
        result = orch.step(action)
        assert not result.faults
        np.testing.assert_array_equal(np.asarray(checked["allocation"]), result.observation.allocation)
        np.testing.assert_array_equal(np.asarray(checked["modified"]), result.modified)


def test_prepare_changes_nothing(orch: Orchestrator) -> None:
    in_force, state, slot, obs = _in_force(orch), orch.sim.state, orch.slot, orch.observation()
    prepared = orch.prepare(np.full((N_RESOURCES, 3), 0.6))
    assert prepared.modified.all()  # 3 x 0.6 > 1 on every shared row
    np.testing.assert_array_equal(_in_force(orch), in_force)
    assert orch.sim.state is state
    assert orch.observation() is obs
    assert orch.slot == slot


# ------------------------------------------------------------------------------------- static source check

#: Private state -> the only modules that may assign it (attribute writes and in-place subscripts).
OWNERS = {
    "_state": {"network/simulator.py"},
    "_in_force": {"orchestration/domains.py"},
    "_rrm": {"orchestration/domains.py"},
    "_rrm_ids": {"orchestration/domains.py"},
    "_targets": {"orchestration/assurance.py"},
    "_active": {"orchestration/assurance.py"},
}


def _writes(tree: ast.AST) -> list[tuple[str, int]]:
    """``(attribute, line)`` of every ``x.attr = ...``, ``x.attr[...] = ...`` and ``x.attr += ...``."""
    out = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute):
                    out.append((sub.attr, getattr(node, "lineno", 0)))
    return out


def test_no_module_writes_another_owners_state() -> None:
    offences = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        for attr, line in _writes(ast.parse(path.read_text())):
            if attr in OWNERS and rel not in OWNERS[attr]:
                offences.append(f"{rel}:{line} writes .{attr}")
    assert not offences, offences


#: Network modules agents must not import: they plan through the PlanningModel, never the simulator.
FORBIDDEN_IN_AGENTS = ("netslice.network.fused", "netslice.network.simulator", "netslice.network.model")


def test_agents_never_reach_into_the_orchestrator_or_the_network() -> None:
    """The intelligence layer uses the agent API and the planning model, never the orchestrator's parts."""
    offences = []
    for path in sorted((SRC / "intelligence").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("sim", "managers", "assurance", "enforcer"):
                offences.append(f"{path.relative_to(SRC)}:{node.lineno} reads .{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module in (
                "netslice.network.fused",
                "netslice.network.simulator",
            ):
                offences.append(f"{path.relative_to(SRC)}:{node.lineno} imports {node.module}")
    assert not offences, offences
