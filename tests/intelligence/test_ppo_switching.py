"""PPO with a training shield: the env gets the shield's actions, switched slots enter the loss as configured,
the shield learns from every slot played, and a resumed run continues exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from netslice.intelligence.agents import ppo as ppo_module
from netslice.intelligence.agents import switched_samples
from netslice.intelligence.agents.ppo import PPO, PPOConfig
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.network.scenarios import load
from netslice.network.scenarios.sla import SlaTargets

TIMING = ("charts/sps", "time/rollout_s", "time/learn_s", "shield/learn_s")
BASE = 0.77  # the stub baseline's share: no agent samples it exactly


class StubShield:
    """Switches env ``i`` at slot ``t`` where ``(t + i) % 3 == 0``; records what it is given."""

    class cfg:  # noqa: N801 (stands for a ShieldConfig)
        target = "cost"

    judged_cost = TrainingShield.judged_cost  # the real rule, on the stub's last_score

    def __init__(self) -> None:
        self.t = 0
        self.filtered: list[tuple[np.ndarray, np.ndarray]] = []
        self.learned: list[dict[str, Any]] = []
        self.last_score: np.ndarray | None = None
        self.last_expected: tuple[np.ndarray, np.ndarray] | None = None

    def filter(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = action.shape[0]
        switched = (self.t + np.arange(n)) % 3 == 0
        self.t += 1
        enforced = np.where(switched[:, None], BASE, action)
        self.last_score = np.where(switched[:, None], 0.25 + 0.5 * np.arange(3), -1.0)  # slices 0.25, 0.75, 1.25
        self.last_expected = (np.full((n, 3), [0.1, 0.2, 0.3]), np.full((n, 3), [0.05, 0.1, 0.15]))
        self.filtered.append((action.copy(), switched))
        return enforced, switched

    def learn(self, obs: Any, action: Any, cost: Any, margin: Any = None, switched: Any = None) -> dict[str, float]:
        self.learned.append({"obs": obs, "action": action, "cost": cost, "margin": margin, "switched": switched})
        return {"shield/switch_rate": 1 / 3}

    def state(self) -> dict[str, Any]:
        return {"t": self.t}

    def load_state(self, state: dict[str, Any]) -> None:
        self.t = state["t"]


class _RecordingEnv(SliceVectorEnv):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actions: list[np.ndarray] = []
        self.costs: list[np.ndarray] = []
        self.rewards: list[np.ndarray] = []

    def step(self, actions: np.ndarray) -> Any:
        self.actions.append(np.array(actions))
        out = super().step(actions)
        self.costs.append(np.asarray(out[4]["cost"]).copy())
        self.rewards.append(np.asarray(out[1], dtype=np.float64).copy())
        return out


def _cfg(**kw: Any) -> PPOConfig:
    return PPOConfig(**{"total_steps": 4 * 8 * 4, "num_steps": 8, "minibatch_size": 16, "hidden": (16,), **kw})


def _one_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, safety: SafetyConfig, cfg: PPOConfig
) -> tuple[PPO, _RecordingEnv, StubShield, Any]:
    """One PPO update on 4 recorded testbed-v0 networks behind the stub shield; the rollout ``learn`` was given."""
    envs = _RecordingEnv(4, "testbed-v0", seed=1, backend="numpy")
    shield = StubShield()
    ppo = PPO(cfg, envs, tmp_path, safety=safety, shield=shield)  # type: ignore[arg-type]
    seen: list[Any] = []
    real_learn = ppo_module.learn
    monkeypatch.setattr(ppo_module, "learn", lambda *a, **kw: seen.append(a[3]) or real_learn(*a, **kw))
    ppo.train(max_updates=1)
    return ppo, envs, shield, seen[0]


@pytest.mark.parametrize("samples", ["keep", "exclude", "corrected"])
def test_the_env_gets_the_shields_actions_and_switched_slots_enter_the_loss_as_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, samples: str
) -> None:
    safety = SafetyConfig(switching=True, switched_samples=samples)
    ppo, envs, shield, rollout = _one_update(tmp_path, monkeypatch, safety, _cfg())
    assert len(shield.filtered) == len(envs.actions) == 8
    for (agent, switched), played in zip(shield.filtered, envs.actions, strict=True):
        np.testing.assert_array_equal(played[switched], BASE)  # the baseline exactly where switched
        np.testing.assert_array_equal(played[~switched], agent[~switched])  # the agent's row, bit for bit
    mask = np.stack([s for _, s in shield.filtered])
    if samples == "exclude":
        np.testing.assert_array_equal(rollout.in_loss, ~mask)
    else:
        assert rollout.in_loss.all()
    learned = shield.learned[0]  # the whole rollout, as played
    np.testing.assert_array_equal(learned["action"], np.stack(envs.actions))
    np.testing.assert_array_equal(learned["cost"], np.stack(envs.costs))
    np.testing.assert_array_equal(learned["switched"], mask)
    assert learned["obs"].shape == (8, 4, envs.single_observation_space.shape[0])
    assert ppo.stats.history[-1]["shield/switch_rate"] == pytest.approx(1 / 3)


def test_without_switching_the_shield_is_absent_and_ppo_unchanged(tmp_path: Path) -> None:
    a = PPO(_cfg(), SliceVectorEnv(4, "testbed-v0", seed=3, backend="numpy"), tmp_path / "a")
    b = PPO(_cfg(), SliceVectorEnv(4, "testbed-v0", seed=3, backend="numpy"), tmp_path / "b",
            safety=SafetyConfig(switched_samples="exclude"))  # fmt: skip
    for p in (a, b):
        p.train(max_updates=1)
    assert [{k: v for k, v in r.items() if k not in TIMING} for r in a.stats.history] == [
        {k: v for k, v in r.items() if k not in TIMING} for r in b.stats.history
    ]
    assert not any(k.startswith("shield/") for k in a.stats.history[0])


def _real(run_dir: Path) -> PPO:
    sc = load("testbed-v0")
    envs = SliceVectorEnv(4, sc, seed=5, backend="numpy", include_kpis=True)
    cfg = ShieldConfig(members=2, hidden=(8,), buffer_size=200, learn_steps=2, batch_size=16, pretrain_slots=4)
    n_obs, n_act = envs.single_observation_space.shape[0], envs.single_action_space.shape[0]
    targets = SlaTargets.from_spec(sc.spec)
    shield = TrainingShield(cfg, RuleBasedPolicy.from_scenario(sc), n_obs, n_act, envs.encoder.slice_names, targets)
    return PPO(
        _cfg(checkpoint_every=1), envs, run_dir, safety=SafetyConfig(method="pid", switching=True), shield=shield
    )


def test_resume_with_a_shield_continues_exactly(tmp_path: Path) -> None:
    straight = _real(tmp_path / "a")
    straight.train(max_updates=2)
    first = _real(tmp_path / "b")
    first.train(max_updates=2)
    resumed = _real(tmp_path / "b")
    assert resumed.resume()
    straight.train(max_updates=1)
    resumed.train(max_updates=1)
    strip = [[{k: v for k, v in r.items() if k not in TIMING} for r in p.stats.history] for p in (straight, resumed)]
    assert strip[0] == strip[1]
    assert "shield/switch_rate" in strip[0][-1]
    for x, y in zip(straight.agent.state_dict().values(), resumed.agent.state_dict().values(), strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize("samples", ["keep", "exclude"])
def test_a_kept_switched_slot_is_judged_by_the_predicted_cost_of_the_agents_action(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, samples: str
) -> None:
    safety = SafetyConfig(method="lagrangian", switching=True, switched_samples=samples, cost_signal="indicator")
    ppo, envs, shield, rollout = _one_update(tmp_path, monkeypatch, safety, _cfg(cost_penalty=2.0))
    cost = np.stack(envs.costs)
    mask = np.stack([s for _, s in shield.filtered])
    judged = cost.copy()
    if samples == "keep":  # the stub's scores clipped to [0, 1]: 0.25, 0.75, 1
        judged[mask] = [0.25, 0.75, 1.0]
    want = np.stack(envs.rewards) - 2.0 * judged.sum(axis=2)  # the penalty used the judged cost ...
    np.testing.assert_allclose(rollout.reward, want, rtol=0, atol=1e-12)  # (8 slots: no truncation bootstrap)
    np.testing.assert_array_equal(rollout.cost, (judged > 0).astype(float))  # ... and so did the constraints
    assert ppo.ledger.summary()["violating_slots"] == int((cost > 0).any(axis=2).sum())  # the ledger: as played


#: Per mode with the agent's own usage: the violation and the cost a switched slot is judged by (stub values).
OWN_USAGE_MODES = {
    "own-usage": ((cost := [0.25, 0.75, 1.0]), [1.0, 1.0, 1.0]),  # the switch statistic, and it counts as violated
    "estimated": (cost, [0.1, 0.2, 0.3]),  # the switch statistic, the predicted probability as the violation
    "corrected": ([0.05, 0.1, 0.15], [0.1, 0.2, 0.3]),  # the expected cost and the predicted probability
}


@pytest.mark.parametrize("samples", list(OWN_USAGE_MODES))
def test_a_switched_slot_can_earn_its_own_usage_and_be_judged_by_the_evaluators_expectation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, samples: str
) -> None:
    envs = _RecordingEnv(4, "testbed-v0", seed=1, backend="numpy")
    shield = StubShield()
    safety = SafetyConfig(method="lagrangian", switching=True, switched_samples=samples, cost_signal="graded")
    ppo = PPO(_cfg(cost_penalty=2.0), envs, tmp_path, safety=safety, shield=shield)  # type: ignore[arg-type]
    seen: list[Any] = []
    changes: list[np.ndarray] = []
    real_change, real_learn = switched_samples.usage_reward_change, ppo_module.learn
    monkeypatch.setattr(ppo_module, "learn", lambda *a, **kw: seen.append(a[3]) or real_learn(*a, **kw))
    monkeypatch.setattr(
        switched_samples, "usage_reward_change", lambda *a: changes.append(real_change(*a)) or changes[-1]
    )
    ppo.train(max_updates=1)
    cost = np.stack(envs.costs)
    mask = np.stack([s for _, s in shield.filtered])
    violation, judged = (cost > 0).astype(float), cost.copy()
    judged[mask], violation[mask] = OWN_USAGE_MODES[samples]
    change = np.zeros(mask.shape)
    change[mask] = np.concatenate(changes)
    assert (change[mask] > 0).all()  # the agent's own shares are below the stub baseline's 0.77 everywhere
    rollout = seen[0]
    want = np.stack(envs.rewards) + change - 2.0 * judged.sum(axis=2)
    np.testing.assert_allclose(rollout.reward, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rollout.cost, violation + judged, rtol=0, atol=1e-15)  # the graded signal
    assert rollout.in_loss.all()
    want_rate = violation.mean(axis=(0, 1))  # the multipliers step on the judged violation rate
    assert ppo.multipliers is not None
    np.testing.assert_allclose(ppo.multipliers.last, want_rate, rtol=0, atol=1e-12)


def test_the_usage_reward_change_is_what_the_other_action_would_have_earned() -> None:
    envs = SliceVectorEnv(6, "testbed-v0", seed=2, backend="numpy")
    envs.reset(seed=2)
    rng = np.random.default_rng(0)
    n_act = envs.single_action_space.shape[0]
    for _ in range(3):  # a few slots in, so that the previous allocation in force matters (enforce_fraction)
        envs.step(rng.uniform(0.0, 1.0, (6, n_act)))
    a = rng.uniform(0.0, 0.6, (6, n_act))
    b = rng.uniform(0.0, 0.6, (6, n_act))
    a[0] = 1.0  # over capacity: the orchestrator scales it down, and so must the change
    snap = envs.snapshot()
    reward_a = envs.step(a)[1]
    envs.restore(snap)
    reward_b = envs.step(b)[1]
    np.testing.assert_allclose(switched_samples.usage_reward_change(envs, a, b), reward_a - reward_b, atol=1e-12)
    rows = np.array([True, False, True, False, False, True])
    np.testing.assert_allclose(
        switched_samples.usage_reward_change(envs, a[rows], b[rows], rows), (reward_a - reward_b)[rows], atol=1e-12
    )


def test_keep_played_judges_like_keep_but_the_multipliers_count_the_violations_as_played(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    safety = SafetyConfig(method="lagrangian", switching=True, switched_samples="keep-played", cost_signal="graded")
    ppo, envs, shield, rollout = _one_update(tmp_path, monkeypatch, safety, _cfg(cost_penalty=2.0))
    cost = np.stack(envs.costs)
    mask = np.stack([s for _, s in shield.filtered])
    judged = cost.copy()
    judged[mask] = [0.25, 0.75, 1.0]
    np.testing.assert_allclose(rollout.cost, (judged > 0) + judged, rtol=0, atol=1e-15)  # the loss: as keep
    want = np.stack(envs.rewards) - 2.0 * judged.sum(axis=2)  # no reward change, the penalty on the judged cost
    np.testing.assert_allclose(rollout.reward, want, rtol=0, atol=1e-12)
    assert ppo.multipliers is not None
    np.testing.assert_allclose(ppo.multipliers.last, (cost > 0).mean(axis=(0, 1)), rtol=0, atol=1e-12)
