"""Baseline switching for per-slice agents: a switched network plays the baseline's allocation (its live slices'
columns), each slice agent's sample is judged as designed, and forced switching learns at the baseline's safety."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from netslice import cli
from netslice.errors import ConfigError
from netslice.intelligence.agents.ppo import PPO, PPOConfig
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.agents.shield_data import collect
from netslice.intelligence.agents.slice_shield import SliceShield
from netslice.intelligence.agents.switched_samples import usage_reward_change
from netslice.intelligence.envs.slice_agents import SliceAgentsVectorEnv
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.policies.base import PolicyContext
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.intelligence.policies.shared_slice import SharedSlicePolicy
from netslice.intelligence.run import TRAINING_FILE, build_learner
from netslice.intelligence.run_config import RunConfig
from netslice.intelligence.shielding import build_shield
from netslice.network.scenarios import load
from netslice.network.scenarios.sla import SlaTargets

SCENARIO = "metro-dynamic-v0"  # slices come and go: some slots are empty at the start
SMALL = ShieldConfig(members=2, hidden=(8,), learn_steps=1, batch_size=32, explore_rate=0.0)


def _shield(n: int, seed: int = 0) -> tuple[SliceAgentsVectorEnv, SliceShield]:
    envs = SliceAgentsVectorEnv(n, SCENARIO, seed=seed)
    envs.reset(seed=seed)
    cfg = RunConfig(scenario=SCENARIO, agents="per-slice", shield=SMALL)
    return envs, SliceShield(build_shield(cfg, load(SCENARIO), envs), envs)


def test_a_switched_network_plays_the_baselines_columns_for_its_live_slices_only(
    fixed_prediction: Callable[[Any, np.ndarray], None],
) -> None:
    envs, shield = _shield(3)
    k = envs.n_slices
    net_obs, live = envs.network_view()
    empty = int(np.flatnonzero(~live[0])[0])
    busy = int(np.flatnonzero(live[0])[0])
    assert live.all(axis=0).any()  # some slots live,
    assert (~live).all(axis=0).any()  # some empty
    mean = np.full((3, k), -0.5)
    mean[1, busy] = 0.3  # network 1: a live slice predicted to violate -> the whole network switches
    mean[2, empty] = 0.9  # network 2: only an empty slot "violates" -> nothing to switch
    fixed_prediction(shield, mean)
    own = np.random.default_rng(0).uniform(0.0, 1.0, (3 * k, 7))
    played, switched = shield.filter(np.zeros((3 * k, 40)), own)
    base = RuleBasedPolicy.from_scenario(load(SCENARIO)).act(net_obs).reshape(3, 7, k).transpose(0, 2, 1)
    rows = played.reshape(3, k, 7)
    np.testing.assert_array_equal(rows[0], own.reshape(3, k, 7)[0])  # not switched: the agents' columns, bit for bit
    np.testing.assert_array_equal(rows[2], own.reshape(3, k, 7)[2])
    np.testing.assert_array_equal(rows[1][live[1]], base[1][live[1]])  # the baseline's column for each live slice
    np.testing.assert_array_equal(switched.reshape(3, k), [np.zeros(k, bool), live[1], np.zeros(k, bool)])
    assert shield.metrics()["shield/switches"] == 1.0
    assert shield.metrics()["shield/decisions"] == 3.0  # one decision per network, as for the centralised agent
    _, _, info_next = envs.step(played)[2:]
    obs, action, cost, margin, sw = shield.record(info_next)
    np.testing.assert_array_equal(obs, net_obs)
    assert action.shape == (3, 7 * k)
    np.testing.assert_array_equal(action.reshape(3, 7, k)[:, :, ~live[0]], 0.0)  # empty slots get nothing
    np.testing.assert_array_equal(sw, [False, True, False])
    np.testing.assert_array_equal(cost, np.asarray(info_next["slice_cost"]).reshape(3, k))
    assert margin is not None
    np.testing.assert_array_equal(margin[:, ~live[0]], -1.0)  # an empty slot has no SLA: never a violation


@pytest.mark.parametrize("mode", ["keep", "own-usage", "exclude", "keep-played"])
def test_each_slice_agents_sample_of_a_switched_network_is_judged_as_designed(
    mode: str, fixed_prediction: Callable[[Any, np.ndarray], None]
) -> None:
    envs, shield = _shield(2)
    k = envs.n_slices
    _, live = envs.network_view()
    busy = np.flatnonzero(live[0])
    mean = np.full((2, k), -0.5)
    mean[0, busy[0]] = 0.4  # network 0 switches because of its first live slice
    mean[0, busy[1]] = 1.7  # another live slice of it, predicted far beyond the boundary (clipped to 1)
    fixed_prediction(shield, mean)
    played, switched = shield.filter(np.zeros((2 * k, 40)), np.full((2 * k, 7), 0.3))
    np.testing.assert_array_equal(switched, np.repeat([True, False], k) & live.reshape(-1))
    info = envs.step(played)[4]
    verdict = shield.judge(mode, info)
    mask = np.asarray(info["cost_mask"])
    assert verdict.cost.shape == mask.shape
    if mode == "own-usage":  # each agent earns its own column's usage: the network's change, split by slice
        assert verdict.reward_change is not None
        _, agents, base, _, _ = shield._last()
        whole = usage_reward_change(envs, agents[:1], base[:1], np.array([True, False]))
        assert verdict.reward_change[:k].sum() == pytest.approx(whole[0])
        assert (verdict.reward_change[:k][~live[0]] == 0.0).all()
        assert (verdict.reward_change[:k][live[0]] < 0.0).any()  # 0.3 everywhere uses more than the baseline
        np.testing.assert_array_equal(verdict.reward_change[k:], 0.0)  # network 1 was not switched
    else:
        assert verdict.reward_change is None

    def sub(net: int, slot: int) -> int:
        return net * k + slot

    as_played = np.asarray(info["cost"])
    np.testing.assert_array_equal(verdict.cost[k:], as_played[k:])  # network 1 was not switched: as played
    if mode == "exclude":
        np.testing.assert_array_equal(verdict.in_loss, np.repeat([False, True], k))  # every agent of network 0
        np.testing.assert_array_equal(verdict.cost, as_played)
        return
    assert verdict.in_loss is None
    for slot, score in ((busy[0], 0.4), (busy[1], 1.0)):  # judged by its own column's statistic, clipped to [0, 1]
        assert verdict.cost[sub(0, slot)][mask[sub(0, slot)]] == pytest.approx([score])
    for slot in busy[2:]:  # a live slice predicted safe, switched by its neighbours: no violation charged
        assert (verdict.cost[sub(0, slot)] == 0.0).all()
    assert (verdict.cost[~mask] == 0.0).all()  # nothing outside a sub-env's live kind column
    if mode == "keep-played":
        assert verdict.rate is not None
        np.testing.assert_array_equal(verdict.rate, (as_played > 0.0).astype(float))
    with pytest.raises(ValueError, match="per-slice agents support"):
        shield.judge("corrected", info)


def test_the_pretraining_data_read_an_empty_slot_as_no_sla() -> None:
    sc = load(SCENARIO)
    envs = SliceVectorEnv(2, sc, seed=0, include_kpis=True)
    rule = RuleBasedPolicy.from_scenario(sc)
    data = collect(
        replace(SMALL, pretrain_slots=6), rule, envs, 0, np.random.default_rng(0), SlaTargets.from_spec(sc.spec)
    )
    assert (~envs.orch.active).any()  # some slots empty
    # an empty slot's KPIs (no throughput) would read as a violation; its margin is -1, and "violates" is the cost's
    np.testing.assert_array_equal(data["margin"] > 0.0, data["cost"] > 0.0)
    assert (data["margin"] == -1.0).any()


def test_forced_switching_learns_at_the_baselines_violations_on_every_live_slice_slot(
    tmp_path: Path, fixed_prediction: Callable[[Any, np.ndarray], None]
) -> None:
    cfg = PPOConfig(num_steps=24, total_steps=2 * 24 * 20, minibatch_size=240, hidden=(16,), seed=3)
    envs, shield = _shield(2, seed=cfg.seed)
    fixed_prediction(shield, np.ones((1, envs.n_slices)))  # always switch
    safety = SafetyConfig(method="pid", switching=True)
    ppo = PPO(cfg, envs, tmp_path, safety=safety, shield=shield)
    ppo.train()
    # The same networks played by the baseline alone: the same allocations, so the same slots and violations.
    ref = SliceAgentsVectorEnv(2, SCENARIO, seed=cfg.seed)
    ref.reset(seed=cfg.seed)
    rule = RuleBasedPolicy.from_scenario(load(SCENARIO))
    live_slots = violating = 0
    for _ in range(2 * 24):
        net_obs, _ = ref.network_view()
        columns = rule.act(net_obs).reshape(2, 7, -1).transpose(0, 2, 1).reshape(-1, 7)
        info = ref.step(columns)[4]
        live = np.asarray(info["cost_mask"]).any(axis=1)
        live_slots += int(live.sum())
        violating += int(((np.asarray(info["cost"]) > 0.0).any(axis=1) & live).sum())
    summary = ppo.ledger.summary()
    assert summary["slots"] == live_slots > 0  # every live slice-slot, and only those
    assert summary["violating_slots"] == violating
    assert summary["violation_rate"] <= 0.01  # the rule-based baseline: ~0.02 % on metro-dynamic-v0
    row = ppo.stats.history[-1]
    assert row["shield/switch_rate"] == 1.0
    assert row["shield/decisions"] == 2 * 2 * 24  # networks x slots


def test_per_slice_switching_configuration_and_a_tiny_cli_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="switched_samples: per-slice agents support"):
        RunConfig(agents="per-slice", safety=SafetyConfig(switching=True, switched_samples="corrected"))
    RunConfig(agents="per-slice", safety=SafetyConfig(switching=True, switched_samples="own-usage"))
    cfg = RunConfig(scenario=SCENARIO, agents="per-slice", n_envs=2, safety=SafetyConfig(switching=True))
    assert isinstance(build_learner(cfg, load(SCENARIO), tmp_path / "built").shield, SliceShield)
    run = tmp_path / "run"
    args = ["train", "--scenario", "metro-v0", "--agents", "per-slice", "--steps", "240", "--n-envs", "2",
            "--num-steps", "24", "--eval-days", "1", "--eval-envs", "1", "--safety", "pid", "--switching",
            "--shield-pretrain-slots", "12", "--shield-members", "2", "--shield-hidden", "8",
            "--run-dir", str(run), "--progress-every", "0"]  # fmt: skip
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert "shield pretrained offline on 24 slots" in result.output  # 12 slots x 2 networks, its own simulator
    data = json.loads((run / TRAINING_FILE).read_text())
    assert data["meta"]["agents"] == "per-slice"
    assert data["meta"]["shield"]["shield/decisions"] == 48  # 24 slots x 2 networks, each judged whole
    assert 0.0 <= data["meta"]["shield"]["shield/switch_rate"] <= 1.0
    assert data["slots"] == 240  # metro-v0: every slice live in every slot
    evaluation = json.loads((run / "evaluation.json").read_text())["policies"]
    assert {"ppo", "ppo+switching"} <= evaluation.keys()
    out = tmp_path / "eval"  # the per-slice agent behind the shield it trained with, loaded from the run folder
    result = CliRunner().invoke(cli.app, ["evaluate", "--policy", f"switching:{run}", "--scenario", "metro-v0",
                                          "--days", "1", "--n-envs", "1", "--out", str(out),
                                          "--progress-every", "0"])  # fmt: skip
    assert result.exit_code == 0, result.output
    (row,) = json.loads((out / "evaluation.json").read_text())["policies"].values()
    trained = evaluation["ppo+switching"]  # the same frozen shield, the same evaluation networks
    assert row == {k: trained[k] for k in row}


class _Columns:
    """A slice actor whose column depends on its row's observation (so a mix-up of rows shows)."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        o = np.asarray(obs, dtype=np.float64)
        return np.clip(0.05 + 0.1 * np.abs(o[:, :7]), 0.0, 1.0)


def test_the_evaluation_policy_judges_and_plays_each_network_as_the_training_shield_does() -> None:
    envs, shield = _shield(3, seed=4)
    agent_obs, _ = envs.reset(seed=4)
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    k = envs.n_slices

    def predict(obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seen.append((np.array(obs), np.array(action)))
        mean = np.full((len(obs), k), -0.5)
        mean[1] = 0.5  # network 1 is predicted to violate
        empty = action.reshape(len(obs), 7, k).sum(axis=1) == 0.0  # no column: an empty slot
        mean[2] = np.where(empty[2], 0.9, -0.5)  # network 2: only its empty slots "violate"
        return mean, np.zeros_like(mean)

    shield.shield.evaluator.predict = predict  # type: ignore[method-assign]
    policy = shield.switching_policy(SharedSlicePolicy(_Columns()))
    for _ in range(4):  # the first slot (no KPIs yet), then slots with KPIs and slices coming and going
        alloc = policy.act_context(PolicyContext.of(envs.orch))
        played, _ = shield.filter(agent_obs, _Columns().act(agent_obs))
        (obs_eval, act_eval), (obs_train, act_train) = seen[-2:]
        np.testing.assert_array_equal(obs_eval, obs_train)  # the same centralised view of each network
        np.testing.assert_array_equal(act_eval, act_train)  # the same allocation judged (0 in the empty slots)
        switched, live = shield._last()[4], shield._last()[3]
        np.testing.assert_array_equal(policy.last_switched, switched)
        np.testing.assert_array_equal(switched, [False, True, False])
        cols = played.reshape(3, k, 7).transpose(0, 2, 1)
        np.testing.assert_array_equal(alloc, np.where(live[:, None, :], cols, 0.0))  # the same allocation played
        agent_obs = envs.step(played)[0]
    assert policy.metrics()["shield/decisions"] == 12.0
