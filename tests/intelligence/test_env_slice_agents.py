"""Per-slice agents: the shared-policy env, its observation, the policy that runs it on every slice, and training."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.intelligence.agents.ppo import PPO, PPOConfig
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.envs.slice_agents import SliceAgentsVectorEnv
from netslice.intelligence.envs.slice_features import (
    ALLOC_START,
    KINDS,
    N_AGENT_FEATURES,
    N_STATIC_FEATURES,
    OTHERS_START,
    PRESENT_INDEX,
    STATIC_START,
    TIME_START,
    SliceEncoder,
    agent_observations,
    sla_features,
)
from netslice.intelligence.policies.base import allocation_for
from netslice.intelligence.policies.shared_slice import SharedSlicePolicy
from netslice.intelligence.run import build_learner, make_policy, policy_label
from netslice.intelligence.run_config import RunConfig
from netslice.network import scenarios
from netslice.network.kernel import Kpis
from netslice.network.scenarios.sla import SlaTargets
from netslice.orchestration.agent_api import Observation, StepResult
from netslice.orchestration.lifecycle import scenario_profile
from netslice.orchestration.orchestrator import Orchestrator

URLLC = 1  # metro-v0's slot of the urllc slice


class LinearActor:
    """A fixed deterministic actor: sigmoid of a random linear map of the agent observation."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = rng.normal(size=(N_AGENT_FEATURES, 7)) * 0.3
        self.calls: list[np.ndarray] = []

    def act(self, obs: Any) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float64)
        self.calls.append(x.copy())
        out: np.ndarray = 1.0 / (1.0 + np.exp(-(x @ self.w)))
        return out


def _rows(x: np.ndarray, n: int, k: int) -> np.ndarray:
    """Sub-env rows ``(n K, ...)`` as ``(n, K, ...)``."""
    return x.reshape(n, k, *x.shape[1:])


# ---------------------------------------------------------------------------------------------------- spaces


def test_shapes_spaces_and_cost_columns() -> None:
    envs = SliceAgentsVectorEnv(2, "metro-v0", seed=0)
    assert envs.num_envs == 10
    assert envs.n_networks == 2
    assert envs.single_observation_space.shape == (N_AGENT_FEATURES,)
    assert envs.single_action_space.shape == (7,)
    assert envs.cost_names == ("embb", "urllc", "mmtc", "mar", "v2x")
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (10, N_AGENT_FEATURES)
    assert obs in envs.observation_space
    obs, reward, terminated, truncated, info = envs.step(np.full((10, 7), 0.2))
    assert obs in envs.observation_space
    assert reward.shape == terminated.shape == truncated.shape == (10,)
    assert info["cost"].shape == info["cost_mask"].shape == (10, 5)
    np.testing.assert_array_equal(info["cost_mask"], np.tile(np.eye(5, dtype=bool), (2, 1)))
    assert not terminated.any()
    assert not truncated.any()
    # a network's sub-env rewards sum to minus its weighted usage (the centralised reward)
    np.testing.assert_allclose(
        _rows(reward, 2, 5).sum(axis=1), envs.encoder.reward(np.asarray(info["usage"]).reshape(2, 5, 4).sum(axis=1))
    )


def test_kinds_follow_the_scenario_schema_and_each_slot_reads_its_one_hot() -> None:
    enc = SliceEncoder.from_scenario(scenarios.load("metro-v0"))
    one_hot = enc.static[:, 6 : 6 + len(KINDS)]
    assert one_hot.sum(axis=1).tolist() == [1.0] * 5
    assert [KINDS[i] for i in one_hot.argmax(axis=1)] == list(enc.kinds)


def test_sla_features_read_the_loosest_value_where_a_term_is_missing() -> None:
    targets = SlaTargets.from_spec(scenarios.load("metro-v0").spec)
    sla = sla_features(targets)
    embb, urllc, mmtc = sla[0], sla[1], sla[2]
    assert embb[0] == 10.0
    assert embb[5] == 1.0
    assert embb[2] > 0.0
    assert embb[4] == pytest.approx(28 / 30)
    assert urllc[0] == pytest.approx(np.log1p(0.1))
    assert urllc[5] == pytest.approx(np.log10(11.0) / 6.0)
    assert mmtc[2] == mmtc[3] == mmtc[4] == 0.0
    assert sla[4, 1] == 1.0
    assert sla[1, 1] == 0.0


# ---------------------------------------------------------------------------------------------------- invariance


def test_an_observation_does_not_depend_on_k_nor_on_the_slot_index() -> None:
    rng = np.random.default_rng(0)
    n, k = 3, 5
    feats, static, time = rng.random((n, k, 14)), rng.random((k, N_STATIC_FEATURES)), rng.random((n, 2))
    present = np.array([True, True, False, True, False])
    full = agent_observations(feats, static, time, present)
    keep = np.flatnonzero(present)
    small = agent_observations(feats[:, keep], static[keep], time, np.ones(3, dtype=bool))
    np.testing.assert_array_equal(full[:, keep], small)  # the same slices in a network of 3 slots
    perm = np.array([2, 0, 1])
    shuffled = agent_observations(feats[:, keep][:, perm], static[keep][perm], time, np.ones(3, dtype=bool))
    np.testing.assert_array_equal(shuffled, small[:, perm])  # the slot index does not matter


def _without(obs: Observation, keep: np.ndarray) -> Observation:
    """The observation of a network holding only the slots ``keep`` (every per-slice array cut down)."""
    kpis = obs.kpis
    assert kpis is not None
    cut = {
        f.name: np.asarray(getattr(kpis, f.name))[..., keep] for f in fields(Kpis) if f.name not in ("hour", "usage")
    }
    return replace(obs, active=obs.active[keep], allocation=obs.allocation[:, :, keep], cost=obs.cost[:, keep],
                   kpis=replace(kpis, **cut))  # fmt: skip


def test_a_slice_reads_the_same_in_a_network_with_fewer_slots() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=2, seed=4)
    orch.terminate_slice("mmtc")
    orch.terminate_slice("v2x")
    orch.step(None)
    obs = orch.step(np.full((7, 5), 0.3)).observation
    enc = SliceEncoder.from_scenario(orch.scenario)
    keep = np.array([0, 1, 3])
    b = enc.base
    small = SliceEncoder(
        base=replace(b, slice_names=tuple(b.slice_names[i] for i in keep), ue_scale=b.ue_scale[keep],
                     ref_dl_kbps=b.ref_dl_kbps[keep], ref_ul_kbps=b.ref_ul_kbps[keep]),
        kinds=tuple(enc.kinds[i] for i in keep), cost_names=tuple(enc.kinds[i] for i in keep),
        kind_column=np.arange(3), static=enc.static[keep],
    )  # fmt: skip
    np.testing.assert_array_equal(enc.encode(obs)[:, keep], small.encode(_without(obs, keep)))


# ---------------------------------------------------------------------------------------------------- presence


def test_absent_slots_read_zero_and_count_in_nobodys_totals() -> None:
    envs = SliceAgentsVectorEnv(2, "metro-v0", seed=1)
    envs.reset(seed=1)
    envs.step(np.full((10, 7), 0.2))
    envs.orch.terminate_slice("urllc")
    obs, reward, terminated, _, info = envs.step(np.full((10, 7), 0.2))  # urllc did not run this slot
    obs3, reward3, term3 = _rows(obs, 2, 5), _rows(reward, 2, 5), _rows(terminated, 2, 5)
    assert (obs3[:, URLLC] == 0.0).all()
    assert (reward3[:, URLLC] == 0.0).all()
    assert term3[:, URLLC].all()
    assert not term3[:, [0, 2, 3, 4]].any()
    assert not _rows(info["cost_mask"], 2, 5)[:, URLLC].any()
    assert (obs3[:, [0, 2, 3, 4], PRESENT_INDEX] == 1.0).all()
    assert obs3[0, 0, PRESENT_INDEX + -1] == pytest.approx(0.4)  # 4 present slices / 10
    alloc = obs3[:, :, ALLOC_START : ALLOC_START + 7]
    others = obs3[:, :, OTHERS_START : OTHERS_START + 7]
    np.testing.assert_allclose(others[:, 0], alloc[:, [2, 3, 4]].sum(axis=1), atol=1e-6)
    obs, reward, terminated, _, _ = envs.step(np.full((10, 7), 0.2))
    assert (_rows(obs, 2, 5)[:, URLLC] == 0.0).all()
    assert _rows(terminated, 2, 5)[:, URLLC].all()


def test_a_slice_admitted_between_steps_runs_then_observes_its_own_slot() -> None:
    envs = SliceAgentsVectorEnv(1, "metro-v0", seed=2)
    envs.reset(seed=2)
    envs.orch.terminate_slice("urllc")
    envs.step(np.full((5, 7), 0.2))
    envs.orch.create_slice("urllc-2", scenario_profile(envs.orch.scenario, URLLC))
    # its first slot ran on an action taken from the empty slot's zeros: a one-step episode left out of learning
    obs, reward, terminated, _, info = envs.step(np.full((5, 7), 0.2))
    assert terminated[URLLC]
    assert reward[URLLC] == 0.0
    assert not info["cost_mask"][URLLC].any()
    assert obs[URLLC, PRESENT_INDEX] == 1.0
    assert (obs[URLLC, :STATIC_START] == 0.0).all()
    obs, reward, terminated, _, info = envs.step(np.full((5, 7), 0.2))
    assert not terminated[URLLC]
    assert reward[URLLC] < 0.0
    assert info["cost_mask"][URLLC, 1]
    assert obs[URLLC, 0] > 0.0  # its own KPIs of the slot it ran on its own decision


def test_a_departed_slices_state_does_not_leak_into_the_next_tenant_of_its_slot() -> None:
    envs = SliceAgentsVectorEnv(1, "metro-v0", seed=3)
    orch = envs.orch
    assert isinstance(orch, Orchestrator)
    envs.reset(seed=3)
    envs.step(np.full((5, 7), 0.2))
    step = orch.step

    def swap_after_the_slot(action: Any = None) -> StepResult:  # departure and arrival between two slots
        result = step(action)
        orch.terminate_slice("urllc")
        orch.create_slice("urllc-2", scenario_profile(orch.scenario, URLLC))
        return result

    orch.step = swap_after_the_slot  # type: ignore[method-assign]
    obs, reward, terminated, _, info = envs.step(np.full((5, 7), 0.2))
    orch.step = step  # type: ignore[method-assign]
    # the old tenant ran its last slot: its reward counts and its episode ends
    assert terminated[URLLC]
    assert reward[URLLC] < 0.0
    assert info["cost_mask"][URLLC, 1]
    # the new tenant reads nothing of that slot: its block is 0, its SLA and kind are there
    assert (obs[URLLC, :STATIC_START] == 0.0).all()
    assert obs[URLLC, PRESENT_INDEX] == 1.0
    assert obs[URLLC, STATIC_START:TIME_START].any()
    obs, reward, terminated, _, _ = envs.step(np.full((5, 7), 0.2))
    assert not terminated[URLLC]
    assert reward[URLLC] < 0.0
    assert obs[URLLC, 0] > 0.0


def test_episodes_truncate_together_with_final_observations() -> None:
    envs = SliceAgentsVectorEnv(2, "metro-v0", seed=0, slots_per_episode=3)
    envs.reset(seed=0)
    envs.orch.terminate_slice("mmtc")
    for _t in range(3):
        obs, _, terminated, truncated, info = envs.step(np.full((10, 7), 0.2))
    assert truncated.all()
    assert info["_final_obs"].all()
    assert info["final_obs"][0].shape == (N_AGENT_FEATURES,)
    assert (obs[:, :6] == 0.0).all()  # the new episode starts without KPIs
    assert terminated[2]
    assert not terminated[0]


def test_snapshot_and_restore_continue_the_same_rollout() -> None:
    envs = SliceAgentsVectorEnv(1, "metro-v0", seed=5)
    envs.reset(seed=5)
    envs.step(np.full((5, 7), 0.3))
    snap = envs.snapshot()
    first = envs.step(np.full((5, 7), 0.3))[0]
    envs.step(np.full((5, 7), 0.1))
    envs.restore(snap)
    np.testing.assert_array_equal(envs.step(np.full((5, 7), 0.3))[0], first)


def test_the_env_pickles_and_its_copy_continues_the_same_rollout() -> None:
    import pickle

    envs = SliceAgentsVectorEnv(2, "metro-v0", seed=0)
    envs.reset(seed=0)
    envs.orch.terminate_slice("mar")
    copy = pickle.loads(pickle.dumps(envs))
    action = np.full((10, 7), 0.2)
    for got, want in zip(copy.step(action), envs.step(action)[:4], strict=False):
        np.testing.assert_array_equal(got, want)


def test_only_same_step_autoreset() -> None:
    with pytest.raises(ConfigError, match="autoreset_mode"):
        SliceAgentsVectorEnv(1, "metro-v0", autoreset_mode="next-step")


# ---------------------------------------------------------------------------------------------------- policy


def test_the_shared_policy_gives_absent_slices_nothing_and_acts_as_the_env_observes() -> None:
    envs = SliceAgentsVectorEnv(2, "metro-v0", seed=6)
    orch = envs.orch
    assert isinstance(orch, Orchestrator)
    obs, _ = envs.reset(seed=6)
    actor = LinearActor()
    policy = SharedSlicePolicy(actor)
    for t in range(6):
        if t == 2:
            orch.terminate_slice("urllc")
        if t == 4:
            orch.create_slice("urllc-2", scenario_profile(orch.scenario, URLLC))
        alloc = allocation_for(policy, orch)  # (2, 7, 5), from the orchestrator's latest observation
        np.testing.assert_array_equal(actor.calls[-1], obs)  # the same encoding as the env's
        present = orch.observation().active
        expected = np.where(present[None, :, None], _rows(actor.act(obs), 2, 5), 0.0).transpose(0, 2, 1)
        np.testing.assert_allclose(alloc, expected)
        if not present.all():
            assert (alloc[:, :, ~present] == 0.0).all()
        obs, *_ = envs.step(alloc.transpose(0, 2, 1).reshape(10, 7))


def test_per_slice_runs_train_evaluate_and_refuse_what_they_do_not_support(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="agents: must be one of"):
        RunConfig(agents="each")
    with pytest.raises(ConfigError, match="switched_samples: per-slice agents support"):
        RunConfig(agents="per-slice", safety=SafetyConfig(switching=True, switched_samples="corrected"))
    with pytest.raises(ConfigError, match="agents: per-slice agents train in this process only"):
        RunConfig(agents="per-slice", workers=2, n_envs=2)
    cfg = RunConfig(scenario="metro-v0", agents="per-slice", n_envs=2,
                    ppo=PPOConfig(total_steps=240, num_steps=12, minibatch_size=60, hidden=(16,)),
                    safety=SafetyConfig(method="lagrangian"))  # fmt: skip
    assert RunConfig.from_dict(cfg.record()) == cfg
    ppo = build_learner(cfg, scenarios.load("metro-v0"), tmp_path)
    assert isinstance(ppo.envs, SliceAgentsVectorEnv)
    assert ppo.n_costs == 5
    assert ppo.multipliers is not None
    assert ppo.multipliers.slice_names == ppo.envs.cost_names
    ppo.train()
    policy = make_policy(f"per-slice:{tmp_path}", scenarios.load("metro-v0"))
    assert isinstance(policy, SharedSlicePolicy)
    assert policy_label(f"per-slice:{tmp_path}") == f"per-slice:{tmp_path.stem}"
    orch = Orchestrator.create("metro-v0", n_envs=3, seed=0)
    alloc = allocation_for(policy, orch)
    assert alloc.shape == (3, 7, 5)
    assert ((alloc >= 0.0) & (alloc <= 1.0)).all()
    central = tmp_path / "central"
    ppo_central = build_learner(
        replace(cfg, agents="central", safety=SafetyConfig()), scenarios.load("metro-v0"), central
    )
    ppo_central.save()
    with pytest.raises(ConfigError, match="a per-slice agent has 40"):
        make_policy(f"per-slice:{central}", scenarios.load("metro-v0"))


# ---------------------------------------------------------------------------------------------------- dynamic


DYNAMIC = [n for n in scenarios.available() if getattr(scenarios.load(n).spec, "arrivals", None) is not None]


@pytest.mark.parametrize("scenario", DYNAMIC)
def test_slices_that_come_and_go_in_a_dynamic_scenario(scenario: str) -> None:
    envs = SliceAgentsVectorEnv(2, scenario, seed=0)
    orch = envs.orch
    assert isinstance(orch, Orchestrator)
    envs.reset(seed=0)
    k, changes = envs.n_slices, 0
    ids = {r.index: sid for sid, r in orch.records.items()}
    for _ in range(48):
        obs, reward, terminated, _, info = envs.step(np.full((envs.num_envs, 7), 0.3))
        now = {r.index: sid for sid, r in orch.records.items()}
        present, ran = info["present"], info["ran"]
        assert (obs[~present] == 0.0).all()
        assert (obs[present, PRESENT_INDEX] == 1.0).all()
        assert (reward[~ran] == 0.0).all()
        assert terminated[~ran].all()
        assert not info["cost_mask"][~ran].any()
        for slot in range(k):
            if ids.get(slot) != now.get(slot):  # its tenant changed after the slot: episode over, nothing carried
                changes += 1
                assert terminated[slot::k].all()
                if slot in now:
                    assert (obs[slot::k, :STATIC_START] == 0.0).all()
        ids = now
    assert changes > 0


@pytest.mark.slow
def test_the_slice_agent_learns_the_known_optimum_of_a_one_slice_scenario(tmp_path: Path) -> None:
    """single-v0: constant traffic, so the oracle's usage is the optimum; the slice agent must get close."""
    from netslice.intelligence.evaluate import evaluate
    from netslice.intelligence.policies.oracle import Oracle

    envs = SliceAgentsVectorEnv(64, "single-v0", seed=0)
    ppo = PPO(PPOConfig(total_steps=1_000_000, minibatch_size=512, seed=0), envs, tmp_path)
    ppo.train()
    scenario = scenarios.load("single-v0")
    policy = SharedSlicePolicy(ppo.policy())
    agent = evaluate(policy, "per-slice", scenario, days=2, n_envs=8, seed=7).summary()
    oracle = evaluate(Oracle.create(None), "oracle", scenario, days=2, n_envs=8, seed=7).summary()
    assert agent["sla/violation_rate"] <= 0.02
    assert agent["usage/mean"] <= 1.5 * oracle["usage/mean"], (agent["usage/mean"], oracle["usage/mean"])
