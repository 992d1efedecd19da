"""Baseline switching for per-domain agents: a switched network plays the baseline's allocation in every group's
rows, each group is charged for its own rows only, forced switching learns at the baseline's safety, and a run
trained with ``--switching`` evaluates behind its shield, resumes exactly and loads as ``switching:RUN``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium.error import ResetNeeded
from typer.testing import CliRunner

from netslice import cli
from netslice.errors import ConfigError
from netslice.intelligence.agents.domain_agents import DomainAgents
from netslice.intelligence.agents.domain_policy import DomainPolicy
from netslice.intelligence.agents.domain_shield import DomainShield
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.decomposition import GROUPS
from netslice.intelligence.envs import domain_features as layout
from netslice.intelligence.envs.domain_vector import DomainVectorEnv
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.policies.base import PolicyContext
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.intelligence.run import TRAINING_FILE, build_domain_agents
from netslice.intelligence.run_config import RunConfig
from netslice.intelligence.shielding import build_shield
from netslice.network.scenarios import load
from netslice.orchestration.orchestrator import Orchestrator

SCENARIO = "metro-v0"
SMALL = ShieldConfig(members=2, hidden=(8,), learn_steps=1, batch_size=32, explore_rate=0.0)


def _shield(n: int, seed: int = 0) -> tuple[DomainVectorEnv, DomainShield]:
    envs = DomainVectorEnv(n, SCENARIO, seed=seed)
    envs.reset(seed=seed)
    cfg = RunConfig(scenario=SCENARIO, agents="per-domain", shield=SMALL)
    return envs, DomainShield(build_shield(cfg, load(SCENARIO), envs), envs)


def _rows(alloc: np.ndarray, group: str) -> np.ndarray:
    """Group ``group``'s rows ``(n, n_rows K)`` of allocations ``(n, 7, K)``, as its agent acts."""
    return alloc[:, list(layout.GROUP_ROWS[group]), :].reshape(len(alloc), -1)


def test_the_centralised_view_needs_a_reset_first() -> None:
    with pytest.raises(ResetNeeded, match="network_view: call reset"):
        DomainVectorEnv(1, SCENARIO, seed=0).network_view()


def test_a_switched_network_plays_the_baselines_allocation_in_every_groups_rows(
    fixed_prediction: Callable[[Any, np.ndarray], None],
) -> None:
    envs, shield = _shield(3)
    k = envs.n_slices
    net_obs, live = envs.network_view()
    central = SliceVectorEnv(3, SCENARIO, seed=0)
    np.testing.assert_array_equal(net_obs, central.reset(seed=0)[0])  # the centralised agent's view, bit for bit
    assert live.all()
    mean = np.full((3, k), -0.5)
    mean[1, 2] = 0.3  # network 1: one slice predicted to violate -> the whole network switches
    fixed_prediction(shield, mean)
    own = {g: np.random.default_rng(i).uniform(0.0, 1.0, (3, envs.act_sizes[g])) for i, g in enumerate(GROUPS)}
    played, switched = shield.filter(own)
    np.testing.assert_array_equal(switched, [False, True, False])
    base = RuleBasedPolicy.from_scenario(load(SCENARIO)).act(net_obs).reshape(3, 7, k)
    for g in GROUPS:
        np.testing.assert_array_equal(played[g][[0, 2]], own[g][[0, 2]])  # not switched: the agents' rows
        np.testing.assert_array_equal(played[g][1], _rows(base, g)[1])  # switched: the baseline's rows
    assert shield.metrics()["shield/decisions"] == 3.0  # one decision per network, as for the centralised agent
    info = envs.step(played)[4]
    obs, action, cost, margin, sw = shield.record(info)
    np.testing.assert_array_equal(obs, net_obs)
    np.testing.assert_array_equal(action.reshape(3, 7, k)[1], base[1])  # what the shield learns: the slot as played
    np.testing.assert_array_equal(cost, info["cost_e2e"])
    assert margin is not None
    assert margin.shape == (3, k)
    np.testing.assert_array_equal(sw, [False, True, False])
    # after a slot with KPIs the view is still the centralised agent's, on the same slot played
    alloc = np.zeros((3, 7, k))
    for g in GROUPS:
        alloc[:, list(layout.GROUP_ROWS[g]), :] = played[g].reshape(3, -1, k)
    np.testing.assert_array_equal(envs.network_view()[0], central.step(alloc.reshape(3, -1))[0])


class _Half:
    """A baseline that gives every slice half of every resource."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        return np.full((len(obs), 7 * 5), 0.5)


def test_each_group_is_charged_for_its_own_rows_or_all_for_a_violation_only_their_combination_causes() -> None:
    envs, shield = _shield(2)
    k = envs.n_slices
    shield.shield.baseline = _Half()
    ran, tn, cn = (layout.GROUP_ROWS[g][0] for g in GROUPS)  # the first row of each group

    def predict(obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = action.reshape(len(obs), 7, k)
        mean = np.full((len(obs), k), -0.5)
        mean[:, 0] = np.where(a[:, ran, 0] < 0.2, 0.3, -0.5)  # slice 0: the RAN-and-edge rows alone
        mean[:, 1] = np.where(a[:, tn, 1] + a[:, cn, 1] < 0.8, 0.4, -0.5)  # slice 1: transport and core together
        return mean, np.zeros_like(mean)

    shield.shield.evaluator.predict = predict  # type: ignore[method-assign]
    own = {g: np.full((2, envs.act_sizes[g]), 0.5) for g in GROUPS}
    alloc = np.full((2, 7, k), 0.5)
    alloc[0, ran, 0] = 0.1  # network 0: RAN-and-edge starves slice 0; transport and core each give slice 1 0.3
    alloc[0, tn, 1] = alloc[0, cn, 1] = 0.3  # (0.3 + 0.5 with the baseline's other row is safe; 0.6 is not)
    own = {g: _rows(alloc, g) for g in GROUPS}
    _, switched = shield.filter(own)
    np.testing.assert_array_equal(switched, [True, False])  # network 1 plays the agents' safe rows
    blame = shield.blame()  # (1, K, G)
    expected = np.zeros((1, k, 3))
    expected[0, 0] = [0.3, 0.0, 0.0]  # slice 0: only the RAN-and-edge agent's rows alone violate
    expected[0, 1] = [0.4, 0.4, 0.4]  # slice 1: no group's rows alone violate, their combination does: all charged
    np.testing.assert_allclose(blame, expected)
    local = np.random.default_rng(0).uniform(0.0, 1.0, (2, k, 3))
    judged = shield.judge(local)
    np.testing.assert_allclose(judged[0], expected[0])  # the switched network: the shield's verdict on own rows
    np.testing.assert_array_equal(judged[1], local[1])  # the other: each group's local cost as played


def _agents(tmp_path: Path, forced: Callable[[Any, np.ndarray], None] | None = None) -> DomainAgents:
    """Per-domain agents behind a small shield on 2 metro-v0 networks, 4 updates; ``forced``: always switch with it."""
    cfg = PPOConfig(num_steps=12, total_steps=2 * 12 * 4, minibatch_size=24, hidden=(16,), seed=3, cost_penalty=0.0,
                    checkpoint_every=1)  # fmt: skip
    run = RunConfig(scenario=SCENARIO, agents="per-domain", n_envs=2, ppo=cfg, shield=SMALL,
                    safety=SafetyConfig(method="lagrangian", switching=True))  # fmt: skip
    agents = build_domain_agents(run, load(SCENARIO), tmp_path)
    assert agents.shield is not None
    if forced is not None:
        forced(agents.shield, np.ones((1, agents.envs.n_slices)))  # always switch
    return agents


def test_forced_switching_learns_at_the_baselines_violations(
    tmp_path: Path, fixed_prediction: Callable[[Any, np.ndarray], None]
) -> None:
    agents = _agents(tmp_path, forced=fixed_prediction)
    agents.train()
    # The same networks played by the baseline alone: the same allocations, so the same slots and violations.
    ref = SliceVectorEnv(2, SCENARIO, seed=3)
    obs, _ = ref.reset(seed=3)
    rule = RuleBasedPolicy.from_scenario(load(SCENARIO))
    violating = 0
    for _ in range(4 * 12):
        obs, _, _, _, info = ref.step(rule.act(obs))
        violating += int((np.asarray(info["cost"]) > 0.0).any(axis=1).sum())
    summary = agents.ledger.summary()
    assert summary["slots"] == 2 * 4 * 12
    assert summary["violating_slots"] == violating
    row = agents.history[-1]
    assert row["shield/switch_rate"] == 1.0
    assert row["shield/decisions"] == 2 * 4 * 12  # networks x slots
    for g in GROUPS:  # every group charged the joint verdict (1): the evaluator's mean never depends on the rows
        assert row[f"safety/{g}/cost/embb"] == pytest.approx(1.0)


def test_a_resumed_switching_run_ends_like_an_uninterrupted_one(tmp_path: Path) -> None:
    straight = _agents(tmp_path / "a")
    straight.train()
    first = _agents(tmp_path / "b")
    first.train(max_updates=2)
    resumed = _agents(tmp_path / "b")
    assert resumed.resume()
    resumed.train()

    def strip(agents: DomainAgents) -> list[dict[str, float]]:
        timing = ("charts/sps", "shield/learn_s")
        return [{k: v for k, v in row.items() if k not in timing} for row in agents.history]

    assert strip(resumed) == strip(straight)
    assert straight.history[-1]["shield/decisions"] == 2 * 4 * 12
    for g in GROUPS:
        for x, y in zip(straight.learners[g].agent.state_dict().values(),
                        resumed.learners[g].agent.state_dict().values(), strict=True):  # fmt: skip
            assert torch.equal(x, y)
    assert straight.shield is not None
    assert resumed.shield is not None
    _assert_same(straight.shield.state(), resumed.shield.state())


def _assert_same(a: object, b: object) -> None:
    """Nested states (dicts, lists, tensors, arrays, numbers) equal, tensors bit for bit."""
    if isinstance(a, dict):
        assert isinstance(b, dict)
        assert a.keys() == b.keys()
        for key in a:
            if key != "last":  # the last metrics hold shield/learn_s, a timing
                _assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple)
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor)
        assert torch.equal(a, b)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_per_domain_switching_configuration_a_tiny_cli_run_and_its_policy_loaded_again(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="switched_samples: per-domain agents support 'keep' with --switching"):
        RunConfig(agents="per-domain", safety=SafetyConfig(switching=True, switched_samples="own-usage"))
    run = tmp_path / "run"
    args = ["train", "--scenario", SCENARIO, "--agents", "per-domain", "--steps", "96", "--n-envs", "2",
            "--num-steps", "24", "--eval-days", "1", "--eval-envs", "1", "--safety", "lagrangian", "--switching",
            "--shield-pretrain-slots", "12", "--shield-members", "2", "--shield-hidden", "8", "--hidden", "16",
            "--run-dir", str(run), "--progress-every", "0"]  # fmt: skip
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert "shield pretrained offline on 24 slots" in result.output  # 12 slots x 2 networks, its own simulator
    data = json.loads((run / TRAINING_FILE).read_text())
    assert data["meta"]["agents"] == "per-domain"
    assert data["meta"]["shield"]["shield/decisions"] == 96  # 48 slots x 2 networks, each judged whole
    evaluation = json.loads((run / "evaluation.json").read_text())["policies"]
    assert {"per-domain", "per-domain+switching"} <= evaluation.keys()
    out = tmp_path / "eval"  # the per-domain agents behind the shield they trained with, loaded from the run folder
    result = CliRunner().invoke(cli.app, ["evaluate", "--policy", f"switching:{run}", "--scenario", SCENARIO,
                                          "--days", "1", "--n-envs", "1", "--out", str(out),
                                          "--progress-every", "0"])  # fmt: skip
    assert result.exit_code == 0, result.output
    (row,) = json.loads((out / "evaluation.json").read_text())["policies"].values()
    trained = evaluation["per-domain+switching"]  # the same frozen shield, the same evaluation networks
    assert row == {k: trained[k] for k in row}
    elsewhere = CliRunner().invoke(cli.app, ["evaluate", "--policy", f"switching:{run}", "--scenario", "testbed-v0",
                                             "--days", "1", "--n-envs", "1", "--out", str(out)])  # fmt: skip
    assert elsewhere.exit_code != 0
    assert "was trained with observations of" in elsewhere.output  # another number of slices, named as such


def test_the_evaluation_policy_judges_and_plays_each_network_as_the_training_shield_does() -> None:
    envs, shield = _shield(3, seed=4)
    agents = _untrained_policy()
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    k = envs.n_slices

    def predict(obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seen.append((np.array(obs), np.array(action)))
        mean = np.full((len(obs), k), -0.5)
        mean[1] = 0.5  # network 1 is predicted to violate
        return mean, np.zeros_like(mean)

    shield.shield.evaluator.predict = predict  # type: ignore[method-assign]
    policy = shield.switching_policy(agents)
    obs, _ = envs.reset(seed=4)
    assert isinstance(envs.orch, Orchestrator)
    for _ in range(3):  # the first slot (no KPIs yet), then slots with KPIs
        alloc = policy.act_context(PolicyContext.of(envs.orch))
        played, switched = shield.filter({g: agents.actors[g].act(obs[g]) for g in GROUPS})
        (obs_eval, act_eval), (obs_train, act_train) = seen[-2:]
        np.testing.assert_array_equal(obs_eval, obs_train)  # the same centralised view of each network
        np.testing.assert_allclose(act_eval, act_train, atol=1e-6)  # the same allocation judged
        np.testing.assert_array_equal(policy.last_switched, switched)
        for g in GROUPS:
            np.testing.assert_allclose(_rows(alloc, g), played[g], atol=1e-6)  # the same allocation played
        obs = envs.step(played)[0]
    assert policy.metrics()["shield/decisions"] == 9.0


def _untrained_policy() -> DomainPolicy:
    """Untrained per-domain actors (seeded) as the evaluation policy."""
    cfg = PPOConfig(hidden=(16,), seed=5)
    return DomainAgents(cfg, DomainVectorEnv(1, SCENARIO, seed=5)).policy()
