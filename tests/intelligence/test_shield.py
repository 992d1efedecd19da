"""The training shield (issue 12.3): filter, learn (scored before trained), pretraining, state, seeding, config."""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace

import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.agents.shield_data import BASELINE, LEVEL, PERTURBED, PretrainingPlan, sla_margin
from netslice.intelligence.envs import SliceVectorEnv
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets

K = 3
N_OBS = 14 * K + 2  # the encoder's layout (per-slice evaluator)
N_ACT = 7 * K
SMALL = ShieldConfig(members=3, hidden=(16,), buffer_size=500, learn_steps=4, batch_size=32)


@dataclass
class Const:
    """Every action entry ``level``; counts its calls."""

    level: float
    calls: int = 0

    def act(self, obs: NDArray[np.floating]) -> NDArray[np.float64]:
        self.calls += 1
        return np.full((np.asarray(obs).shape[0], N_ACT), self.level)


@dataclass
class StubEvaluator:
    """Predicts ``mean`` (std 0) until its first update, ``after`` from then on; logs the calls in order."""

    mean: NDArray[np.float64]
    after: float = -1.0
    log: list[str] = field(default_factory=list)
    updated: bool = False

    def predict(self, obs: NDArray[np.floating], action: NDArray[np.floating]) -> tuple[NDArray[np.float64], ...]:
        self.log.append("predict")
        m = np.full_like(self.mean, self.after) if self.updated else self.mean
        return m, np.zeros_like(m)

    def update(self, obs: NDArray[np.floating], action: NDArray[np.floating], target: NDArray[np.floating]) -> float:
        self.log.append("update")
        self.updated = True
        return 0.5


def _shield(cfg: ShieldConfig = SMALL, baseline: Const | None = None) -> TrainingShield:
    return TrainingShield(cfg, baseline or Const(0.9), N_OBS, N_ACT, ["a", "b", "c"])


def _synthetic(rng: np.random.Generator, n: int) -> tuple[NDArray[np.float64], ...]:
    """cost_k = max(0, margin_k), margin_k = 0.45 - mean of slice k's column + 0.1 its first feature (half violate)."""
    obs = rng.uniform(0.0, 1.0, (n, N_OBS))
    action = rng.uniform(0.0, 1.0, (n, N_ACT))
    margin = 0.45 - action.reshape(n, 7, K).mean(axis=1) + 0.1 * obs[:, : 14 * K : 14]
    return obs, action, np.clip(margin, 0.0, 1.0), margin


def test_filter_enforces_the_baseline_exactly_where_a_violation_is_predicted() -> None:
    baseline = Const(0.9)
    shield = _shield(baseline=baseline)
    mean = np.array([[0.1, -1.0, -1.0], [-1.0, -1.0, -1.0], [-1.0, -1.0, 0.0], [-1.0, 2.0, -1.0]])
    shield.evaluator = StubEvaluator(mean)  # type: ignore[assignment]
    rng = np.random.default_rng(0)
    action = rng.uniform(0.0, 1.0, (4, N_ACT)).astype(np.float32)
    enforced, switched = shield.filter(rng.uniform(size=(4, N_OBS)), action)
    np.testing.assert_array_equal(switched, [True, False, False, True])  # exactly 0 does not switch
    assert enforced.dtype == np.float64
    np.testing.assert_array_equal(enforced[switched], 0.9)
    assert enforced[~switched].tobytes() == action[~switched].astype(np.float64).tobytes()  # bit for bit
    assert baseline.calls == 1
    shield.filter(rng.uniform(size=(4, N_OBS)), action)
    m = shield.metrics()
    assert (m["shield/switches"], m["shield/decisions"], m["shield/switch_rate"]) == (4.0, 8.0, 0.5)
    assert m["shield/switch_rate_update"] == 0.5
    with pytest.raises(ValueError, match="filter"):
        shield.filter(np.zeros((4, N_OBS)), np.zeros((3, N_ACT)))


def test_learn_scores_before_it_trains_and_closes_the_update_window() -> None:
    shield = _shield(ShieldConfig(target="cost", members=2, hidden=(8,)))
    # Before training the stub flags rows 0 and 1; after, nothing. Rows 0 and 2 violate.
    stub = StubEvaluator(np.array([[0.5, -1, -1], [0.5, -1, -1], [-1, -1, -1], [-1, -1, -1]]))
    shield.evaluator = stub  # type: ignore[assignment]
    shield.filter(np.zeros((4, N_OBS)), np.zeros((4, N_ACT)))  # rows 0, 1 switched
    cost = np.array([[0.2, 0, 0], [0, 0, 0], [0, 0.1, 0], [0, 0, 0]])
    m = shield.learn(np.zeros((4, N_OBS)), np.zeros((4, N_ACT)), cost, switched=np.array([1, 1, 0, 0], dtype=bool))
    assert stub.log == ["predict", "predict", "update"]  # filter, then learn: score, then train
    assert (m["shield/precision"], m["shield/recall"]) == (0.5, 0.5)  # the predictions before the update
    assert m["shield/miss_rate"] == 0.25  # row 2: played by the agent, violated
    assert m["shield/evaluator_loss"] == 0.5
    assert m["shield/switch_rate_update"] == 0.5
    assert 0.0 <= m["shield/learn_s"] < 1.0
    shield.filter(np.zeros((4, N_OBS)), np.zeros((4, N_ACT)))  # nothing switched now
    assert shield.metrics()["shield/switch_rate_update"] == 0.5  # the window closes at learn
    assert shield.learn(np.zeros((4, N_OBS)), np.zeros((4, N_ACT)), cost)["shield/switch_rate_update"] == 0.0
    assert shield.metrics()["shield/switch_rate"] == 0.25


def test_exploration_lets_uncertain_rows_through_within_its_budget() -> None:
    shield = _shield(ShieldConfig(members=2, hidden=(8,), confidence_z=-1.0, tolerance=0.0, explore_rate=0.25))

    @dataclass
    class Uncertain:
        """Rows 0-2: mean says safe (-0.3, -0.2, -0.1), std 1 (switched under z = -1); row 3: mean says violates."""

        def predict(self, obs: NDArray[np.floating], action: NDArray[np.floating]) -> tuple[NDArray[np.float64], ...]:
            mean = np.array([[-0.3, -1, -1], [-0.2, -1, -1], [-0.1, -1, -1], [0.5, -1, -1]])
            return mean, np.ones_like(mean)

    shield.evaluator = Uncertain()  # type: ignore[assignment]
    action = np.full((4, N_ACT), 0.05)
    switched = [shield.filter(np.zeros((4, N_OBS)), action)[1] for _ in range(5)]
    # Credit 0.25 x 4 = 1 row a call: the uncertain row with the lowest score (row 0) is let through each time.
    for s in switched:
        np.testing.assert_array_equal(s, [False, True, True, True])
    m = shield.metrics()
    assert (m["shield/explored"], m["shield/switches"], m["shield/decisions"]) == (5.0, 15.0, 20.0)
    half = _shield(ShieldConfig(members=2, hidden=(8,), confidence_z=-1.0, tolerance=0.0, explore_rate=0.125))
    half.evaluator = Uncertain()  # type: ignore[assignment]
    explored = [int((~half.filter(np.zeros((4, N_OBS)), action)[1]).sum()) for _ in range(4)]
    assert explored == [0, 1, 0, 1]  # the credit carries over between calls


def test_margin_target_needs_margins() -> None:
    rng = np.random.default_rng(1)
    obs, action, cost, margin = _synthetic(rng, 64)
    shield = _shield()
    with pytest.raises(ValueError, match="margin"):
        shield.learn(obs, action, cost)
    assert shield.learn(obs, action, cost, margin=margin)["shield/evaluator_loss"] > 0.0
    with pytest.raises(ValueError, match="include_kpis"):
        shield.margin({"cost": cost})


def test_learning_online_improves_recall_and_is_cheap() -> None:
    rng = np.random.default_rng(2)
    cfg = ShieldConfig(members=3, hidden=(32, 32), learn_steps=16, confidence_z=0.0, tolerance=0.0, quantile=None)
    shield = _shield(cfg)
    metrics = []
    for _ in range(40):
        obs, action, cost, margin = _synthetic(rng, 512)
        metrics.append(shield.learn(obs, action, cost, margin=margin))
    assert metrics[-1]["shield/recall"] >= 0.9
    assert metrics[-1]["shield/heldout_loss"] < 0.5 * metrics[0]["shield/heldout_loss"]
    assert np.median([m["shield/learn_s"] for m in metrics]) < 0.1


def _learned(cfg: ShieldConfig, seed: int = 3, n: int = 3) -> TrainingShield:
    shield = _shield(cfg)
    rng = np.random.default_rng(seed)
    for _ in range(n):
        obs, action, cost, margin = _synthetic(rng, 100)
        shield.filter(obs, action)
        shield.learn(obs, action, cost, margin=margin)
    return shield


def test_state_round_trip_predicts_and_continues_identically(testbed: Scenario) -> None:
    shield = _learned(SMALL)
    shield.targets = SlaTargets.from_spec(testbed.spec)
    buf = io.BytesIO()
    torch.save(shield.state(), buf)
    buf.seek(0)
    restored = _shield(SMALL)
    restored.load_state(torch.load(buf, weights_only=True))  # tensors and plain data only
    probe = _synthetic(np.random.default_rng(4), 50)
    for a, b in zip(shield.evaluator.predict(*probe[:2]), restored.evaluator.predict(*probe[:2]), strict=True):
        np.testing.assert_array_equal(a, b)
    assert restored.metrics() == shield.metrics()
    assert restored.targets is not None
    for name, value in vars(shield.targets).items():
        np.testing.assert_array_equal(getattr(restored.targets, name), value)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    for s, rng in ((shield, rng_a), (restored, rng_b)):
        obs, action, cost, margin = _synthetic(rng, 100)
        s.filter(obs, action)
        s.learn(obs, action, cost, margin=margin)
    for a, b in zip(shield.evaluator.predict(*probe[:2]), restored.evaluator.predict(*probe[:2]), strict=True):
        np.testing.assert_array_equal(a, b)
    drop = ("shield/learn_s",)
    assert {k: v for k, v in restored.metrics().items() if k not in drop} == {
        k: v for k, v in shield.metrics().items() if k not in drop
    }
    with pytest.raises(ValueError, match="confidence_z"):
        _shield(ShieldConfig(members=3, hidden=(16,), confidence_z=2.0)).load_state(shield.state())


def test_deterministic_given_the_seed_and_leaves_the_global_rng_alone() -> None:
    global_state = torch.random.get_rng_state()
    probe = _synthetic(np.random.default_rng(6), 20)
    preds = [_learned(ShieldConfig(members=2, hidden=(8,), seed=s)).evaluator.predict(*probe[:2])[0] for s in (1, 1, 2)]
    assert torch.equal(torch.random.get_rng_state(), global_state)
    np.testing.assert_array_equal(preds[0], preds[1])
    assert not np.array_equal(preds[0], preds[2])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"confidence_z": float("nan")}, "confidence_z: must be"),
        ({"tolerance": 2.0}, "tolerance: must be in"),
        ({"target": "loss"}, "target: must be one of"),
        ({"members": 1}, "members: must be an int of at least 2"),
        ({"learn_steps": -1}, "learn_steps"),
        ({"hidden": ()}, "hidden: must be"),
        ({"lr": 0.0}, r"lr: must be in \(0, 1\], got 0.0"),
        ({"lr": 2.0}, r"lr: must be in \[0, 1\]"),
        ({"hidden": (8, 0)}, "hidden: must be"),
        ({"explore_rate": -0.1}, "explore_rate: must be in"),
        ({"segment": 0.5}, "segment: must be"),
        ({"holdout": 1.0}, "holdout: must be in"),
        ({"random_fraction": 0.5, "baseline_fraction": 0.5, "level_fraction": 0.5}, "at most 1"),
        ({"perturb_low": 0.0}, "perturb_low"),
        ({"perturb_high": 0.5}, "perturb_high"),
        ({"pretrain_slots": 0}, "pretrain_slots"),
        ({"seed": -1}, "seed"),
    ],
)
def test_config_errors_name_the_field(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ShieldConfig(**kwargs)  # type: ignore[arg-type]


def test_config_takes_hidden_from_json() -> None:
    assert ShieldConfig(hidden=[32, 16]).hidden == (32, 16)  # type: ignore[arg-type]
    assert ShieldConfig(hidden=[32, 16]) == ShieldConfig(hidden=(32, 16))  # type: ignore[arg-type]


def test_pretraining_plan_covers_the_modes_and_holds_segments() -> None:
    cfg = ShieldConfig(segment=1e9)  # segments never end: modes and factors persist
    plan = PretrainingPlan(cfg, 4000, N_ACT, np.random.default_rng(7))
    base = np.full((4000, N_ACT), 0.15)
    action, mode = plan.actions(base)
    assert action.min() >= 0.0
    assert action.max() <= 1.0
    counts = np.bincount(mode, minlength=4) / mode.size
    np.testing.assert_allclose(counts, [0.2, 0.1, 0.2, 0.5], atol=0.03)
    np.testing.assert_array_equal(action[mode == BASELINE], 0.15)
    assert action[mode == LEVEL].min() < 0.01
    assert np.median(action[mode == PERTURBED]) < 0.15
    again, mode2 = plan.actions(base)
    np.testing.assert_array_equal(mode, mode2)
    held = (mode == PERTURBED)[:, None] & (action < 0.9) & (again < 0.9)  # not clipped at 1
    ratio = again[held] / action[held]
    assert ratio.min() >= 0.8 / 1.25 - 1e-12
    assert ratio.max() <= 1.25 / 0.8 + 1e-12
    fresh = PretrainingPlan(ShieldConfig(segment=1.0), 4000, N_ACT, np.random.default_rng(7))
    fresh.actions(base)
    assert 0.4 < (fresh.actions(base)[1] != mode).mean() < 0.8  # segment 1: every slot draws anew


def test_pretraining_on_testbed_flags_violations(testbed: Scenario) -> None:
    """Held-out recall and precision that neither "never switch" (recall 0) nor "always" (the base rate) reach."""
    envs = SliceVectorEnv(num_envs=16, scenario=testbed, seed=1, include_kpis=True)
    cfg = ShieldConfig(pretrain_slots=100, pretrain_epochs=30, members=3, hidden=(32, 32), quantile=None)
    shield = TrainingShield(cfg, RuleBasedPolicy.from_scenario(testbed), N_OBS, N_ACT, envs.encoder.slice_names)
    m = shield.pretrain(envs, seed=0)
    assert m["shield/pretrain/slots"] == 16 * 100
    assert m["shield/pretrain/recall"] >= 0.95, m
    assert m["shield/pretrain/precision"] >= m["shield/pretrain/violation_rate"] + 0.1, m
    assert m["shield/pretrain/baseline_switch_rate"] <= 0.5, m
    assert m["shield/pretrain/seconds"] > 0.0
    # The margin's positive part is the orchestrator's cost.
    obs, _ = envs.reset(seed=3)
    plan = PretrainingPlan(cfg, 16, N_ACT, np.random.default_rng(8))
    _, _, _, _, info = envs.step(plan.actions(RuleBasedPolicy.from_scenario(testbed).act(obs))[0])
    margin = shield.margin(info)
    np.testing.assert_allclose(np.clip(margin, 0.0, 1.0), np.minimum(info["cost_raw"], 1.0), atol=1e-12)
    assert (margin < 0).any()
    assert np.array_equal(margin > 0, info["cost"] > 0)
    np.testing.assert_array_equal(sla_margin(info["kpis"], envs.orch.assurance.targets), margin)


def test_switching_policy_is_frozen_and_uses_the_rule() -> None:
    shield = _learned(SMALL)
    policy = shield.switching_policy(Const(0.05))
    obs = np.random.default_rng(9).uniform(size=(6, N_OBS))
    n = shield.evaluator.n_buffered
    action = policy.act(obs)
    expected, switched = shield.filter(obs, Const(0.05).act(obs))
    np.testing.assert_array_equal(action, expected)
    np.testing.assert_array_equal(policy.last_switched, switched)
    policy.observe(np.zeros((6, K)))
    assert shield.evaluator.n_buffered == n  # frozen: observe teaches nothing


@dataclass
class RandomLevels:
    """Row i: one level, log-uniform in [0.01, 1], from its own generator (same seed, same actions)."""

    seed: int
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def act(self, obs: NDArray[np.floating]) -> NDArray[np.float64]:
        n = np.asarray(obs).shape[0]
        return np.repeat(np.exp(self.rng.uniform(np.log(0.01), 0.0, (n, 1))), N_ACT, axis=1)


def test_switching_policy_drives_the_rest_agent_api_like_in_process(testbed: Scenario) -> None:
    """The agent behind the shield over the REST client: the same switches, actions and costs as in process."""
    pytest.importorskip("fastapi")
    import warnings

    from netslice.orchestration.api import create_app
    from netslice.orchestration.api.client import OrchestratorClient
    from netslice.orchestration.orchestrator import Orchestrator

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated")
        from fastapi.testclient import TestClient

    offline = SliceVectorEnv(num_envs=8, scenario=testbed, seed=1, include_kpis=True)
    cfg = ShieldConfig(pretrain_slots=30, pretrain_epochs=5, members=2, hidden=(16,), confidence_z=0.0, tolerance=0.0,
                       quantile=0.99)  # fmt: skip
    shield = TrainingShield(cfg, RuleBasedPolicy.from_scenario(testbed), N_OBS, N_ACT, offline.encoder.slice_names)
    shield.pretrain(offline, seed=0)
    app = create_app(Orchestrator.create(testbed, n_envs=4, seed=0), "token")
    with TestClient(app) as http:
        remote = SliceVectorEnv(scenario=testbed, orchestrator=OrchestratorClient(token="token", http=http))
        local = SliceVectorEnv(4, testbed, seed=0)
        policies = [shield.switching_policy(RandomLevels(5)) for _ in range(2)]
        obs = [remote.reset(seed=3)[0], local.reset(seed=3)[0]]
        switched = []
        for _ in range(12):
            actions = [p.act(o) for p, o in zip(policies, obs, strict=True)]
            np.testing.assert_array_equal(actions[0], actions[1])
            got, want = remote.step(actions[0]), local.step(actions[1])
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[4]["cost"], want[4]["cost"])
            for p, step in zip(policies, (got, want), strict=True):
                p.observe(step[4]["cost"])
            switched.append(policies[0].last_switched)
            obs = [got[0], want[0]]
    mask = np.array(switched)
    assert mask.any()
    assert not mask.all()  # both the agent's and the baseline's actions went over the API
    assert policies[0].metrics() == policies[1].metrics()


def test_pretraining_plays_around_a_warm_actor_when_given() -> None:
    """With a warm start the pretraining plays (and perturbs) the warm actor's actions, not the baseline's."""
    cfg = ShieldConfig(members=2, hidden=(8,), pretrain_slots=6, pretrain_epochs=1, baseline_fraction=1.0,
                       random_fraction=0.0, level_fraction=0.0, holdout=0.25)  # fmt: skip
    baseline, warm = Const(0.6), Const(0.3)
    shield = _shield(cfg, baseline)
    envs = SliceVectorEnv(4, "testbed-v0", seed=0, include_kpis=True)
    shield.pretrain(envs, seed=1, around=warm)
    assert warm.calls == 6
    assert baseline.calls == 0
    plain = _shield(cfg, Const(0.6))
    plain.pretrain(SliceVectorEnv(4, "testbed-v0", seed=0, include_kpis=True), seed=1)
    assert plain.baseline.calls == 6  # type: ignore[attr-defined]


def test_the_relative_rule_lets_through_an_action_predicted_no_worse_than_the_baseline() -> None:
    mean = np.array([[0.1, -1.0, -1.0], [-1.0, -1.0, -1.0], [-1.0, 2.0, -1.0]])
    rng = np.random.default_rng(0)
    action = rng.uniform(0.0, 1.0, (3, N_ACT))
    obs = rng.uniform(size=(3, N_OBS))
    absolute, relative = _shield(), _shield(replace(SMALL, relative=True, explore_rate=0.0))
    for shield in (absolute, relative):
        shield.evaluator = StubEvaluator(mean)  # type: ignore[assignment]  # the same prediction for any action
    np.testing.assert_array_equal(absolute.filter(obs, action)[1], [True, False, True])
    enforced, switched = relative.filter(obs, action)  # the baseline's action is predicted to do as badly
    np.testing.assert_array_equal(switched, [False, False, False])
    np.testing.assert_array_equal(enforced, action)
    np.testing.assert_array_equal(relative.last_score, mean)  # the agent is still judged by its own statistic
    assert relative.switching_policy(Const(0.1)).relative
    assert not absolute.switching_policy(Const(0.1)).relative
