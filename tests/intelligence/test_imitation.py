"""Imitation learning: the demonstrations dataset, behaviour cloning, the warm start of PPO and ``netslice imitate``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from netslice.cli import app
from netslice.errors import ConfigError
from netslice.intelligence.agents.checkpoint import CheckpointError
from netslice.intelligence.agents.ppo import PPO, PPOConfig, PPOPolicy, new_agent
from netslice.intelligence.agents.warm_config import WarmStartConfig
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.imitation import dataset
from netslice.intelligence.imitation.bc import VAR_FLOOR, Clone, action_loss, clone, logit, split
from netslice.intelligence.imitation.bc_config import BCConfig
from netslice.intelligence.imitation.job import imitate
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.intelligence.run_config import RunConfig
from netslice.network.scenarios import Scenario, load

#: A PPO network small enough for fast tests.
SMALL = PPOConfig(hidden=(32, 32), num_steps=4, minibatch_size=64, update_epochs=1, total_steps=10_000)


@pytest.fixture(scope="module")
def testbed_sc() -> Scenario:
    return load("testbed-v0")


@pytest.fixture(scope="module")
def demos(testbed_sc: Scenario) -> dataset.Demonstrations:
    """The rule-based teacher, 6 days on 4 networks (24 episodes)."""
    return dataset.collect(RuleBasedPolicy.from_scenario(testbed_sc), "rule", testbed_sc, 6, 4, seed=7)


@pytest.fixture(scope="module")
def rule_clone(demos: dataset.Demonstrations) -> Clone:
    return clone(demos, SMALL, BCConfig(epochs=20, batch_size=32, holdout=0.25, seed=3))


# ------------------------------------------------------------------------------------------------- dataset


def test_collect_shapes_and_what_the_teacher_did(demos: dataset.Demonstrations, testbed_sc: Scenario) -> None:
    assert demos.observations.shape == (24, 25, 44)
    assert demos.actions.shape == (24, 24, 21)
    assert demos.costs.shape == (24, 24, 3)
    assert demos.n_steps == 576
    assert demos.truncations[:, -1].all()
    assert not demos.truncations[:, :-1].any()
    assert demos.summary()["sla/violation_rate"] == 0.0  # the rule keeps the SLAs of testbed-v0
    # the recorded action is the teacher's on the recorded state: replay the first slot of one network
    envs = SliceVectorEnv(4, testbed_sc, seed=7)
    obs, _ = envs.reset(seed=7)
    np.testing.assert_array_equal(obs.astype(np.float32), demos.observations[:4, 0])
    teacher = RuleBasedPolicy.from_scenario(testbed_sc)
    np.testing.assert_allclose(teacher.act(obs), demos.actions[:4, 0], rtol=1e-6)
    # each day ends with the observation after its last slot (final_obs), not the next day's first
    assert not np.array_equal(demos.observations[0, -1], demos.observations[4, 0])


def test_collect_is_seeded(testbed_sc: Scenario, demos: dataset.Demonstrations) -> None:
    teacher = RuleBasedPolicy.from_scenario(testbed_sc)
    again = dataset.collect(teacher, "rule", testbed_sc, 6, 4, seed=7)
    other = dataset.collect(teacher, "rule", testbed_sc, 6, 4, seed=8)
    np.testing.assert_array_equal(again.observations, demos.observations)
    np.testing.assert_array_equal(again.actions, demos.actions)
    assert not np.array_equal(other.observations, demos.observations)


def test_collect_rejects_bad_sizes(testbed_sc: Scenario) -> None:
    with pytest.raises(ConfigError, match="days: must be at least 1"):
        dataset.collect(RuleBasedPolicy.from_scenario(testbed_sc), "rule", testbed_sc, 0, 4, seed=0)


def test_dataset_round_trips_through_minari(demos: dataset.Demonstrations, tmp_path: Path) -> None:
    import minari

    data = dataset.save(demos, tmp_path / "ds")
    back = dataset.load(tmp_path / "ds")
    for name in ("observations", "actions", "rewards", "costs", "truncations"):
        np.testing.assert_array_equal(getattr(back, name), getattr(demos, name), err_msg=name)
    assert back.meta == demos.meta
    ds = minari.MinariDataset(data)  # what any Minari user reads
    assert (ds.total_episodes, ds.total_steps) == (24, 576)
    assert ds.id == "netslice/testbed-v0-rule-v0"
    episode = next(iter(ds.iterate_episodes()))
    assert episode.observations.shape == (25, 44)
    assert episode.infos["cost"].shape == (24, 3)
    env = ds.recover_environment()  # the env the data came from, by its registered id
    assert env.action_space.shape == (21,)
    assert float(env.action_space.high.max()) == 1.0


def test_a_dataset_saves_to_a_relative_folder(
    demos: dataset.Demonstrations, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`netslice imitate`'s default run folder is relative (runs/...): Minari sized such a folder at a wrong path."""
    monkeypatch.chdir(tmp_path)
    data = dataset.save(demos, Path("runs") / "bc" / "dataset")
    assert data == tmp_path / "runs" / "bc" / "dataset" / "data"
    np.testing.assert_array_equal(dataset.load(Path("runs") / "bc" / "dataset").actions, demos.actions)


def test_dataset_never_overwritten_and_bad_folders_named(demos: dataset.Demonstrations, tmp_path: Path) -> None:
    dataset.save(demos, tmp_path / "ds")
    with pytest.raises(ConfigError, match="already holds a dataset"):
        dataset.save(demos, tmp_path / "ds")
    with pytest.raises(ConfigError, match="no Minari dataset"):
        dataset.load(tmp_path / "nothing")


# ------------------------------------------------------------------------------------------- cloning


def test_pinball_loss_known_answer() -> None:
    agent = new_agent(SMALL, 2, 1)
    with torch.no_grad():
        for p in agent.actor.parameters():
            p.zero_()
    x = torch.zeros((2, 2))
    u0 = agent.mean_bias  # the logit every output has
    target = torch.tensor([[u0 + 1.0], [u0 - 1.0]])  # errors +1 (teacher above) and -1 (teacher below)
    # rho_0.9(+1) = 0.9, rho_0.9(-1) = 0.1: mean 0.5; at the median, 0.5 each
    with torch.no_grad():
        assert action_loss(agent, x, target, 0.9).item() == pytest.approx(0.5)
        assert action_loss(agent, x[:1], target[:1], 0.9).item() == pytest.approx(0.9)
        assert action_loss(agent, x[:1], target[1:], 0.9).item() == pytest.approx(0.1)
    # 0 and 1 have no logit: clipped to 1e-4 and 1 - 1e-4 (float32)
    np.testing.assert_allclose(logit(torch.tensor([0.5, 0.0, 1.0])).numpy(), [0.0, -9.21024, 9.21024], atol=2e-4)


def test_split_holds_whole_episodes_out() -> None:
    train, held = split(20, 0.25, seed=1)
    assert len(held) == 5
    assert len(train) == 15
    assert not set(train) & set(held)
    assert split(20, 0.0, 1)[1].size == 0
    with pytest.raises(ConfigError, match="holdout"):
        split(1, 0.5, 0)


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [("epochs", 0, "at least 1"), ("quantile", 1.0, r"in \[0, 1\)"), ("quantile", 0.0, r"in \(0, 1\)"),
     ("learning_rate", 0.0, r"in \(0, 1\]"), ("holdout", 1.0, r"in \[0, 1\)")],
)  # fmt: skip
def test_bc_config_names_the_field_and_rule(field: str, value: float, rule: str) -> None:
    with pytest.raises(ConfigError, match=f"{field}: must be.*{rule}"):
        BCConfig(**{field: value})


def test_bc_loss_decreases_and_the_clone_matches_the_teacher_on_held_out_states(
    rule_clone: Clone, demos: dataset.Demonstrations
) -> None:
    first, last = rule_clone.history[0], rule_clone.history[-1]
    assert [row["bc/epoch"] for row in rule_clone.history] == list(range(21))
    assert last["bc/loss"] < 0.1 * first["bc/loss"]
    assert last["bc/holdout_loss"] < 0.1 * first["bc/holdout_loss"]
    obs, act = demos.states(rule_clone.holdout_episodes)  # states the clone never trained on
    mae = np.abs(rule_clone.policy().act(obs) - act).mean()
    assert mae == pytest.approx(last["bc/holdout_mae"], rel=1e-4)
    assert mae < 0.03, mae  # the teacher's shares are 0.15..1


def test_quantile_above_the_median_errs_towards_larger_shares(rule_clone: Clone, demos: dataset.Demonstrations) -> None:
    median = clone(demos, SMALL, BCConfig(epochs=20, batch_size=32, holdout=0.25, seed=3, quantile=0.5))
    obs, act = demos.states(rule_clone.holdout_episodes)
    above_q9 = (rule_clone.policy().act(obs) > act).mean()  # tau = 0.9, the default
    above_q5 = (median.policy().act(obs) > act).mean()
    assert above_q9 > 0.75, above_q9
    assert 0.25 < above_q5 < 0.75, above_q5


def test_clone_normalises_with_the_data_and_a_variance_floor(rule_clone: Clone, demos: dataset.Demonstrations) -> None:
    obs, _ = demos.states(rule_clone.train_episodes)
    assert rule_clone.obs_rms is not None
    np.testing.assert_allclose(rule_clone.obs_rms.mean, obs.mean(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rule_clone.obs_rms.var, np.maximum(obs.astype(np.float64).var(axis=0), VAR_FLOOR),
                               rtol=1e-3, atol=1e-6)  # fmt: skip
    assert (rule_clone.obs_rms.var >= VAR_FLOOR).all()


def test_clone_is_seeded(demos: dataset.Demonstrations) -> None:
    a = clone(demos, SMALL, BCConfig(epochs=1, seed=5))
    b = clone(demos, SMALL, BCConfig(epochs=1, seed=5))
    c = clone(demos, SMALL, BCConfig(epochs=1, seed=6))
    for (name, p), q in zip(a.agent.actor.state_dict().items(), b.agent.actor.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert a.history != c.history


# ---------------------------------------------------------------------------------------------- warm start


def _save_clone(c: Clone, cfg: PPOConfig, path: Path) -> Path:
    return c.policy().save(path / "checkpoint.pt", cfg)


def test_critic_warm_up_leaves_the_actor_unchanged_then_it_learns(rule_clone: Clone, tmp_path: Path) -> None:
    _save_clone(rule_clone, SMALL, tmp_path / "bc")
    warm = WarmStartConfig(actor=str(tmp_path / "bc"), critic_updates=2, log_std=-3.0)
    ppo = PPO(SMALL, SliceVectorEnv(8, "testbed-v0", seed=0), tmp_path / "run", warm=warm)
    clone_actor = {k: v.clone() for k, v in rule_clone.agent.actor.state_dict().items()}
    for name, value in ppo.agent.actor.state_dict().items():
        assert torch.equal(value, clone_actor[name]), name  # started from the clone
    assert torch.equal(ppo.agent.log_std.detach(), torch.full_like(ppo.agent.log_std, -3.0))
    assert ppo.obs_rms is not None
    assert rule_clone.obs_rms is not None
    np.testing.assert_array_equal(ppo.obs_rms.mean, rule_clone.obs_rms.mean)
    critic0 = {k: v.clone() for k, v in ppo.agent.critic.state_dict().items()}
    ppo.train(max_updates=2)  # the warm-up: critics alone
    for name, value in ppo.agent.actor.state_dict().items():
        assert torch.equal(value, clone_actor[name]), name
    assert torch.equal(ppo.agent.log_std.detach(), torch.full_like(ppo.agent.log_std, -3.0))
    assert any(not torch.equal(v, critic0[k]) for k, v in ppo.agent.critic.state_dict().items())
    assert ppo.ledger.summary()["slots"] == 2 * SMALL.num_steps * 8  # the warm-up's slots are played and counted
    ppo.train(max_updates=1)  # then the actor moves
    assert any(not torch.equal(v, clone_actor[k]) for k, v in ppo.agent.actor.state_dict().items())
    # the clone's observation statistics stay for the whole run (freeze_obs), unless asked otherwise
    np.testing.assert_array_equal(ppo.obs_rms.mean, rule_clone.obs_rms.mean)
    moving = PPO(
        SMALL, SliceVectorEnv(8, "testbed-v0", seed=0), tmp_path / "run2", warm=replace(warm, freeze_obs=False)
    )
    moving.train(max_updates=1)
    assert moving.obs_rms is not None
    assert not np.array_equal(moving.obs_rms.mean, rule_clone.obs_rms.mean)


def test_warm_start_refuses_another_network_shape(rule_clone: Clone, tmp_path: Path) -> None:
    _save_clone(rule_clone, SMALL, tmp_path / "bc")
    warm = WarmStartConfig(actor=str(tmp_path / "bc"))
    other = replace(SMALL, hidden=(16, 16))
    with pytest.raises(CheckpointError, match=r"ppo\.hidden: \[32, 32\] there, \[16, 16\] here"):
        PPO(other, SliceVectorEnv(2, "testbed-v0", seed=0), tmp_path / "run", warm=warm)
    with pytest.raises(CheckpointError, match="cannot be read"):
        PPO(SMALL, SliceVectorEnv(2, "testbed-v0", seed=0), tmp_path / "run",
            warm=WarmStartConfig(actor=str(tmp_path / "missing.pt")))  # fmt: skip


def test_warm_config_fields_and_their_errors() -> None:
    cfg = RunConfig().overridden({"warm_actor": "runs/bc", "warm_critic_updates": 3, "warm_log_std": None})
    assert cfg.warm == WarmStartConfig(actor="runs/bc", critic_updates=3, log_std=None)
    assert RunConfig.from_dict(cfg.record()) == cfg
    assert cfg.record()["warm"] == {
        "actor": "runs/bc", "critic_updates": 3, "log_std": None, "freeze_obs": True, "learning_rate": 1e-4
    }  # fmt: skip
    with pytest.raises(ConfigError, match=r"log_std: must be in \[-10, 2\]"):
        RunConfig().overridden({"warm_log_std": 5.0})
    with pytest.raises(ConfigError, match=r"learning_rate: must be in \(0, 1\]"):
        RunConfig().overridden({"warm_learning_rate": 0.0})
    assert WarmStartConfig(actor="x").rate(1e-3) == 1e-4
    assert WarmStartConfig().rate(1e-3) == 1e-3  # no actor: PPO's own
    assert WarmStartConfig(actor="x", learning_rate=None).rate(1e-3) == 1e-3
    with pytest.raises(ConfigError, match=r"unknown key 'warm\.bogus'"):
        RunConfig.from_dict({"warm": {"bogus": 1}})
    assert not WarmStartConfig().actor_frozen(0)
    assert WarmStartConfig(actor="x", critic_updates=1).actor_frozen(0)


# ------------------------------------------------------------------------------------------ the command


def test_imitate_command_writes_a_clone_that_evaluate_and_train_accept(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "bc"
    result = runner.invoke(app, ["imitate", "--days", "2", "--n-envs", "2", "--epochs", "2", "--eval-days", "1",
                                 "--eval-envs", "2", "--run-dir", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads((out / "bc.json").read_text())
    assert [row["bc/epoch"] for row in record["history"]] == [0, 1, 2]
    assert {"usage/mean", "sla/violation_rate"} <= set(record["history"][-1])
    assert record["teacher"]["usage/mean"] > 0
    assert (out / "bc_curve.png").stat().st_size > 0
    assert (out / "dataset" / "data" / "metadata.json").exists()
    policy = PPOPolicy.load(out / "checkpoint.pt")
    assert policy.act(np.zeros((1, 44))).shape == (1, 21)
    again = runner.invoke(app, ["imitate", "--dataset", str(out / "dataset"), "--epochs", "1", "--eval-days", "1",
                                "--eval-envs", "2", "--run-dir", str(tmp_path / "bc2")])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "bc2" / "bc.json").read_text())["dataset"]["days"] == 2
    bad = runner.invoke(app, ["imitate", "--teacher", "nope", "--run-dir", str(tmp_path / "bc3")])
    assert bad.exit_code == 2
    assert "policy: 'nope'" in bad.output


def test_imitate_job_returns_the_record(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    record = imitate("rule", "testbed-v0", tmp_path, Console(file=io.StringIO()), days=1, n_envs=2,
                     bc=BCConfig(epochs=1, holdout=0.0), ppo=SMALL, eval_days=1, eval_envs=2)  # fmt: skip
    assert record["holdout_episodes"] == 0
    assert "bc/holdout_loss" not in record["history"][-1]
    assert list(record["ppo"]["hidden"]) == [32, 32]
    assert record["teacher"]["sla/violation_rate"] == 0.0
    assert PPOPolicy.load(tmp_path / "checkpoint.pt").agent.actor[0].in_features == 44
