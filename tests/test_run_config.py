"""One source per default: ``netslice train``'s options come from RunConfig and PPOConfig, runs save their config.

Covers the derived options (defaults, help), ``run_config.json`` (round trip, reproduction from the folder),
unknown keys, precedence (command line over ``--config`` over defaults) and resuming with another config.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import pytest
import torch
import typer
from typer.testing import CliRunner

from netslice import cli
from netslice.errors import ConfigError, NetsliceError
from netslice.intelligence.agents.ppo import PPO
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.agents.warm_config import WarmStartConfig
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.run_config import FIELDS, PPO_FIELDS, RUN_CONFIG_FILE, RunConfig, attribute_docs

ROOT = Path(__file__).resolve().parents[1]
#: A run that trains and evaluates in seconds.
TINY = ("--steps", "96", "--n-envs", "2", "--eval-days", "1", "--eval-envs", "1")


def _run(*args: str, app: typer.Typer = cli.app) -> Any:
    return CliRunner().invoke(app, list(args))


def _config(*args: str, app: typer.Typer = cli.app) -> dict[str, Any]:
    """The run config ``netslice train ARGS`` would train with (``--print-config``)."""
    result = _run("train", *args, "--print-config", app=app)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def _train_options() -> dict[str, Any]:
    """The click parameters of ``netslice train``, by name."""
    command = typer.main.get_command(cli.app).commands["train"]  # type: ignore[attr-defined]
    return {p.name: p for p in command.params}


def test_every_config_field_is_an_option_with_the_dataclass_default_and_docstring_help() -> None:
    options = _train_options()
    # every sub-configuration, with the prefix of its fields on the command line
    subconfigs = {"": (PPOConfig, SafetyConfig), "shield_": (ShieldConfig,), "warm_": (WarmStartConfig,)}
    docs, defaults, subs = attribute_docs(RunConfig), asdict(RunConfig()), set()
    for prefix, classes in subconfigs.items():
        for cls in classes:
            docs |= {f"{prefix}{k}": v for k, v in attribute_docs(cls).items()}
            defaults |= {f"{prefix}{k}": v for k, v in asdict(cls()).items()}
            subs |= {f"{prefix}{f.name}" for f in fields(cls)}
    assert set(FIELDS) == subs | {f.name for f in fields(RunConfig)} - {"ppo", "safety", "shield", "warm"}
    for name in FIELDS:
        expected = list(defaults[name]) if isinstance(defaults[name], tuple) else defaults[name]
        assert options[name].default == expected, name
        assert options[name].help == cli.help_text(docs[name]), name
    assert _config() == RunConfig().record()


def test_the_main_job_defaults_are_unchanged(same_as_reference_config: Callable[..., None]) -> None:
    """scripts/main.sh passes no training option: these values are what docs/results was trained with."""
    cfg = _config("--scenario", "testbed-v0", "--algo", "ppo")
    assert {k: cfg[k] for k in ("scenario", "n_envs", "eval_days", "eval_envs")} == {
        "scenario": "testbed-v0", "n_envs": 128, "eval_days": 5, "eval_envs": 16
    }  # fmt: skip
    reference = json.loads((ROOT / "docs/results/testbed-v0-ppo-s0/evaluation.json").read_text())["meta"]
    same_as_reference_config(cfg["ppo"], reference["config"])
    assert reference["train_envs"] == cfg["n_envs"]


def test_help_shows_the_ppo_config_default_and_the_old_option_names() -> None:
    text = " ".join(_run("train", "--help").output.replace("│", " ").split())
    for option in ("--steps", "--n-envs", "--seed", "--run-dir", "--resume", "--no-resume", "--learning-rate",
                   "--cost-penalty", "--clip-noise", "--noise-space", "--eval-days", "--eval-envs", "--scenario",
                   "--algo", "--config", "--hidden"):  # fmt: skip
        assert option in text
    assert "Adam step size" in text
    assert f"[default: {PPOConfig().total_steps}]" in text


def test_a_changed_default_changes_the_command() -> None:
    """The command has no defaults of its own: other dataclass defaults give other option defaults."""
    app = typer.Typer()
    app.command("train")(cli.make_train_command(RunConfig(n_envs=7, ppo=PPOConfig(learning_rate=0.5, hidden=(9,)))))
    app.command("other")(lambda: None)  # a group, so that the command is invoked by name as in netslice
    cfg = _config(app=app)
    assert (cfg["n_envs"], cfg["ppo"]["learning_rate"], cfg["ppo"]["hidden"]) == (7, 0.5, [9])
    assert _config("--n-envs", "3", app=app)["n_envs"] == 3


def test_command_line_overrides_config_file_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "my.json"
    path.write_text(json.dumps({"n_envs": 8, "eval_days": 2, "ppo": {"learning_rate": 0.01, "seed": 5}}))
    cfg = _config("--config", str(path), "--seed", "7", "--n-envs", "128")  # 128: the default, still given here
    assert (cfg["n_envs"], cfg["eval_days"], cfg["ppo"]["seed"], cfg["ppo"]["learning_rate"]) == (128, 2, 7, 0.01)
    assert cfg["ppo"]["cost_penalty"] == PPOConfig().cost_penalty  # left out of the file: the default
    assert cfg["eval_envs"] == RunConfig().eval_envs


@pytest.mark.parametrize(("data", "message"), [
    ({"ppo": {"lr": 0.1}}, "unknown key 'ppo.lr'"),
    ({"steps": 10}, "unknown key 'steps'"),
    ({"n_envs": "8"}, "n_envs: must be an integer, got '8'"),
    ({"ppo": {"hidden": [64, 1.5]}}, "hidden[1]: must be an integer, got 1.5"),
    ({"ppo": {"clip_noise": "x"}}, "clip_noise: must be a number or null, got 'x'"),
    ({"ppo": {"anneal_lr": 1}}, "anneal_lr: must be true or false, got 1"),
    ({"eval_days": 0}, "eval_days: must be at least 1, got 0"),
    ({"algo": "sac"}, "algo: only 'ppo' is available, got 'sac'"),
    ({"safety": {"method": "adam"}}, "method: must be one of 'none', 'lagrangian', 'pid', got 'adam'"),
    ({"safety": {"violation_limit": 1.5}}, "violation_limit: must be in [0, 1], got 1.5"),
    ({"safety": {"lambda_every": 0}}, "lambda_every: must be at least 1, got 0"),
    ({"safety": {"lambda_lr": -1}}, "lambda_lr: must be a finite number of at least 0, got -1.0"),
    ({"safety": {"pid_ema": 1}}, "pid_ema: must be in [0, 1), got 1.0"),
    ({"safety": 3}, "safety must be an object of SafetyConfig fields, got 3"),
])  # fmt: skip
def test_a_bad_config_file_is_one_error_line_naming_the_key(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    result = _run("train", "--config", str(path), "--print-config")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: config '{path}': ")
    assert message in result.output
    with pytest.raises(ConfigError, match=r"unknown key 'nope'"):
        RunConfig().overridden({"nope": 1})


def test_an_unknown_option_or_unreadable_file_is_named(tmp_path: Path) -> None:
    result = _run("train", "--lr", "0.1")
    assert result.exit_code == 2
    assert "No such option: --lr" in result.output
    (tmp_path / "broken.json").write_text("{")
    assert "not valid JSON" in _run("train", "--config", str(tmp_path / "broken.json")).output
    assert "cannot be read" in _run("train", "--config", str(tmp_path / "none.json")).output


def test_a_run_folder_reproduces_its_run(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    requested = _config(*TINY, "--seed", "4", "--learning-rate", "0.002", "--hidden", "16", "--hidden", "16")
    assert _run("train", *TINY, "--seed", "4", "--learning-rate", "0.002", "--hidden", "16", "--hidden", "16",
                "--run-dir", str(first)).exit_code == 0  # fmt: skip
    saved = json.loads((first / RUN_CONFIG_FILE).read_text())
    assert saved == requested
    assert RunConfig.load(first) == RunConfig.from_dict(requested)
    assert torch.load(first / "checkpoint.pt", weights_only=True)["run_config"] == saved
    assert _config("--config", str(first / RUN_CONFIG_FILE)) == saved
    assert _run("train", "--config", str(first), "--run-dir", str(second)).exit_code == 0
    assert json.loads((second / RUN_CONFIG_FILE).read_text()) == saved
    evaluations = [json.loads((d / "evaluation.json").read_text()) for d in (first, second)]
    assert evaluations[0]["policies"] == evaluations[1]["policies"]


def test_resuming_with_another_config_is_refused_naming_the_keys(tmp_path: Path) -> None:
    assert _run("train", *TINY, "--run-dir", str(tmp_path)).exit_code == 0
    saved = (tmp_path / RUN_CONFIG_FILE).read_text()
    result = _run("train", *TINY, "--run-dir", str(tmp_path), "--learning-rate", "0.01", "--eval-envs", "2")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: checkpoint {tmp_path / 'checkpoint.pt'}: written by a run with another")
    assert "ppo.learning_rate: 0.001 there, 0.01 here" in result.output
    assert "eval_envs: 1 there, 2 here" in result.output
    assert "--config RUN_DIR/run_config.json" in result.output
    assert (tmp_path / RUN_CONFIG_FILE).read_text() == saved  # the refused run wrote nothing
    resumed = _run("train", "--config", str(tmp_path), "--run-dir", str(tmp_path))
    assert resumed.exit_code == 0, resumed.output
    assert "resumed from" in resumed.output
    assert _run("train", *TINY, "--run-dir", str(tmp_path), "--seed", "1", "--no-resume").exit_code == 0
    assert json.loads((tmp_path / RUN_CONFIG_FILE).read_text())["ppo"]["seed"] == 1


def test_a_checkpoint_without_run_config_is_checked_on_its_ppo_config(tmp_path: Path) -> None:
    """Library use (no run config), and checkpoints written before run configs were saved."""
    cfg = PPOConfig(total_steps=96, minibatch_size=64, seed=1)
    PPO(cfg, SliceVectorEnv(2, "testbed-v0", seed=1, backend="numpy"), tmp_path).save()
    same = PPO(cfg, SliceVectorEnv(2, "testbed-v0", seed=1, backend="numpy"), tmp_path)
    assert same.resume()
    other = PPO(PPOConfig(total_steps=96, minibatch_size=64, seed=2), SliceVectorEnv(2, "testbed-v0", seed=2,
                backend="numpy"), tmp_path)  # fmt: skip
    with pytest.raises(NetsliceError, match=r"ppo\.seed: 1 there, 2 here"):
        other.resume()
    record = RunConfig(n_envs=2, ppo=PPOConfig(total_steps=96, minibatch_size=64, seed=3)).record()
    newer = PPO(PPOConfig(**record["ppo"]), SliceVectorEnv(2, "testbed-v0", seed=3, backend="numpy"), tmp_path,
                run_config=record)  # a run config here, only the PPO config in the checkpoint  # fmt: skip
    with pytest.raises(NetsliceError, match=r"\(ppo\.seed: 1 there, 3 here\)"):
        newer.resume()
    assert set(PPO_FIELDS) == set(asdict(cfg))


def test_domain_weights_are_part_of_the_run_and_reach_every_user_of_the_objective(tmp_path: Path) -> None:
    from netslice.intelligence.run import make_policy
    from netslice.network.scenarios import load

    data = _config("--weights", "2", "--weights", "1", "--weights", "1", "--weights", "0")
    assert data["weights"] == [2.0, 1.0, 1.0, 0.0]
    cfg = RunConfig.from_dict(data)
    cfg.save(tmp_path)
    assert RunConfig.load(tmp_path).weights == (2.0, 1.0, 1.0, 0.0)
    oracle = make_policy("oracle", load("testbed-v0"), cfg.weights)
    assert oracle.objective.weights.tolist() == [0.5, 0.25, 0.25, 0.0]  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match=r"weights: must be 4 finite non-negative numbers"):
        RunConfig(weights=(1.0, -1.0, 0.0, 0.0))
    result = _run("train", "--weights", "1", "--print-config")
    assert result.exit_code != 0
    assert "weights" in result.output


def test_safety_options_parse_and_land_in_the_run_config(tmp_path: Path) -> None:
    assert _config()["safety"] == asdict(SafetyConfig())  # default: method none
    assert not RunConfig().safety.enabled
    data = _config("--safety", "pid", "--violation-limit", "0.02", "--lambda-every", "3", "--pid-kd", "2")
    assert data["safety"] == {**asdict(SafetyConfig()), "method": "pid", "violation_limit": 0.02, "lambda_every": 3,
                              "pid_kd": 2.0}  # fmt: skip
    cfg = RunConfig.from_dict(data)
    assert cfg.safety == SafetyConfig(method="pid", violation_limit=0.02, lambda_every=3, pid_kd=2.0)
    cfg.save(tmp_path)
    assert RunConfig.load(tmp_path) == cfg
    assert _config("--config", str(tmp_path), "--safety", "lagrangian")["safety"]["method"] == "lagrangian"
    assert RunConfig.from_dict({"ppo": {"seed": 1}}).safety == SafetyConfig()  # older records: no "safety"
    run = tmp_path / "run"
    result = _run("train", *TINY, "--safety", "lagrangian", "--violation-limit", "0.01", "--run-dir", str(run))
    assert result.exit_code == 0, result.output
    assert json.loads((run / RUN_CONFIG_FILE).read_text())["safety"]["method"] == "lagrangian"
    data = torch.load(run / "checkpoint.pt", weights_only=True)
    assert data["safety"]["multipliers"]["kind"] == "lagrangian"
    assert "safety/lambda/mar" in data["history"][-1]
    assert json.loads((run / "evaluation.json").read_text())["meta"]["safety"]["violation_limit"] == 0.01


def test_safety_config_builds_the_multipliers_it_names() -> None:
    from netslice.intelligence.agents.lagrangian import DualAscent, PIDLagrangian

    assert SafetyConfig().multipliers(("a", "b")) is None
    dual = SafetyConfig(method="lagrangian", violation_limit=0.05, lambda_lr=0.5, lambda_every=2).multipliers(("a",))
    assert isinstance(dual, DualAscent)
    assert (dual.d, dual.eta, dual.every) == (0.05, 0.5, 2)
    pid = SafetyConfig(method="pid", pid_kp=1.0, pid_ki=2.0, pid_kd=3.0, pid_ema=0.5).multipliers(("a", "b"))
    assert isinstance(pid, PIDLagrangian)
    assert (pid.kp, pid.ki, pid.kd, pid.ema, pid.slice_names) == (1.0, 2.0, 3.0, 0.5, ("a", "b"))


def test_shield_fields_are_prefixed_in_the_flat_namespace_and_bare_in_the_record() -> None:
    cfg = RunConfig().overridden({"shield_seed": 3, "seed": 5, "shield_hidden": [32]})
    assert (cfg.shield.seed, cfg.ppo.seed, cfg.shield.hidden) == (3, 5, (32,))
    assert cfg.value("shield_seed") == 3
    assert cfg.record()["shield"]["seed"] == 3
    assert RunConfig.from_dict(cfg.record()) == cfg  # the record holds the bare names
    with pytest.raises(ConfigError, match="unknown key 'shield_bogus'"):
        RunConfig().overridden({"shield_bogus": 1})
    with pytest.raises(ConfigError, match=r"unknown key 'shield\.shield_seed' \(shield holds confidence_z"):
        RunConfig.from_dict({"shield": {"shield_seed": 1}})
