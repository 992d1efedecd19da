"""Bad checkpoints (empty, truncated, garbage, wrong content) give one clear netslice error; stale temp files go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from netslice import cli
from netslice.errors import NetsliceError
from netslice.intelligence.agents.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from netslice.intelligence.agents.ppo import PPO, PPOConfig, PPOPolicy
from netslice.intelligence.envs.vector import SliceVectorEnv


def _ppo(run_dir: Path) -> PPO:
    cfg = PPOConfig(total_steps=4 * 24 * 2, num_steps=24, minibatch_size=64, checkpoint_every=1, seed=1)
    return PPO(cfg, SliceVectorEnv(4, "testbed-v0", seed=1, backend="numpy"), run_dir)


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real checkpoint after one update."""
    ppo = _ppo(tmp_path_factory.mktemp("good"))
    ppo.train(max_updates=1)
    return ppo.save().read_bytes()


def _bad_files(tmp_path: Path, good: bytes) -> dict[str, Path]:
    files = {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "garbage": bytes(range(256)) * 8,
    }
    out = {}
    for name, content in files.items():
        path = tmp_path / name / "checkpoint.pt"
        path.parent.mkdir()
        path.write_bytes(content)
        out[name] = path
    wrong = tmp_path / "wrong" / "checkpoint.pt"
    wrong.parent.mkdir()
    torch.save({"agent": {}, "weights": torch.ones(3)}, wrong)  # a valid torch file, not a PPO checkpoint
    out["wrong content"] = wrong
    not_a_dict = tmp_path / "list" / "checkpoint.pt"
    not_a_dict.parent.mkdir()
    torch.save([1, 2, 3], not_a_dict)
    out["not a dict"] = not_a_dict
    return out


KINDS = ("empty", "truncated", "garbage", "wrong content", "not a dict")


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_checkpoint_is_a_netslice_error_naming_the_file(
    tmp_path: Path, good_checkpoint: bytes, kind: str
) -> None:
    path = _bad_files(tmp_path, good_checkpoint)[kind]
    with pytest.raises(NetsliceError, match="checkpoint") as err:
        PPOPolicy.load(path)
    assert str(path) in str(err.value)
    assert "netslice train" in str(err.value)  # says what to do
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kind", KINDS)
def test_resuming_from_a_bad_checkpoint_says_to_use_no_resume(
    tmp_path: Path, good_checkpoint: bytes, kind: str
) -> None:
    path = _bad_files(tmp_path, good_checkpoint)[kind]
    ppo = _ppo(path.parent)
    with pytest.raises(NetsliceError) as err:
        ppo.resume()
    message = str(err.value)
    assert str(path) in message
    assert "--no-resume" in message
    assert "delete" in message or "another --run-dir" in message


def test_the_reason_distinguishes_an_empty_file(tmp_path: Path, good_checkpoint: bytes) -> None:
    files = _bad_files(tmp_path, good_checkpoint)
    with pytest.raises(NetsliceError, match="empty"):
        load_checkpoint(files["empty"])
    with pytest.raises(NetsliceError, match="missing"):
        load_checkpoint(files["wrong content"], required=("config", "agent"))


def test_a_checkpoint_of_another_scenario_is_refused_before_anything_is_applied(
    tmp_path: Path, good_checkpoint: bytes
) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(good_checkpoint)
    cfg = PPOConfig(total_steps=4 * 24 * 2, num_steps=24, minibatch_size=64, seed=1)
    other = PPO(cfg, SliceVectorEnv(4, "single-v0", seed=1, backend="numpy"), tmp_path)
    with pytest.raises(NetsliceError, match="another scenario"):
        other.resume()


def test_stale_temp_files_of_a_killed_save_are_removed_when_a_run_starts(
    tmp_path: Path, good_checkpoint: bytes
) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(good_checkpoint)
    stale = [tmp_path / ".checkpoint.pt.abc123", tmp_path / ".checkpoint.pt.zz9_x"]
    for p in stale:
        p.write_bytes(good_checkpoint[:100])
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    ppo = _ppo(tmp_path)
    assert ppo.resume()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "notes.txt"]


@pytest.mark.parametrize("kind", KINDS)
def test_cli_evaluate_prints_one_error_line_without_a_traceback(
    tmp_path: Path, good_checkpoint: bytes, kind: str
) -> None:
    path = _bad_files(tmp_path, good_checkpoint)[kind]
    for spec in (path, path.parent):  # the checkpoint or its run folder
        result = CliRunner().invoke(cli.app, ["evaluate", "--policy", str(spec), "--out", str(tmp_path / "ev")])
        assert result.exit_code == 2, result.output
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
        assert result.output.startswith("error: checkpoint")
        assert str(path) in result.output
        assert len(result.output.strip().splitlines()) <= 2


def test_cli_evaluate_of_an_agent_on_another_scenario_says_so_without_a_traceback(
    tmp_path: Path, good_checkpoint: bytes
) -> None:
    # A testbed-v0 agent evaluated on single-v0 (another number of slices) failed with a numpy broadcast traceback.
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt").write_bytes(good_checkpoint)
    args = ["evaluate", "--policy", str(tmp_path / "run"), "--scenario", "single-v0", "--days", "1", "--n-envs", "1"]
    result = CliRunner().invoke(cli.app, [*args, "--out", str(tmp_path / "ev")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error: policy: the agent was trained with observations of 44 values")
    assert "scenario" in result.output
    policy = PPOPolicy.load(tmp_path / "run" / "checkpoint.pt")
    with pytest.raises(NetsliceError, match="observations of 44 values"):
        policy.act(np.zeros((2, 10)))
    # A run of `netslice train` names its scenario and, for per-slice agents, the prefix to load it with.
    run_config = {"scenario": "metro-dynamic-v0", "agents": "per-slice"}
    policy.save(tmp_path / "slice" / "checkpoint.pt", PPOConfig(), run_config=run_config)
    with pytest.raises(NetsliceError, match=r"trained on metro-dynamic-v0 .*evaluate it as per-slice:PATH"):
        PPOPolicy.load(tmp_path / "slice" / "checkpoint.pt").act(np.zeros((2, 10)))


def test_cli_train_on_a_truncated_checkpoint_exits_with_the_hint(tmp_path: Path, good_checkpoint: bytes) -> None:
    path = _bad_files(tmp_path, good_checkpoint)["truncated"]
    args = ["train", "--steps", "96", "--n-envs", "2", "--run-dir", str(path.parent), "--eval-days", "1"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "--no-resume" in result.output
    assert len(result.output.strip().splitlines()) <= 2


def test_loading_a_checkpoint_never_runs_code_from_the_file(tmp_path: Path) -> None:
    import pickle

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (marker.write_text, ("pwned",))

    path = tmp_path / "checkpoint.pt"
    with path.open("wb") as f:
        torch.save({"config": {}, "n_obs": 1, "n_act": 1, "agent": {}, "obs_rms": Payload()}, f)
    pickle.loads(pickle.dumps(Payload()))
    assert marker.exists()  # the payload does run code when it is unpickled
    marker.unlink()
    with pytest.raises(CheckpointError, match="unpickling them could run code"):
        load_checkpoint(path)
    assert not marker.exists()


def test_checkpoints_hold_only_tensors_and_plain_data(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", {"a": np.arange(3), "b": [np.float32(1.5), {"c": np.ones((2, 2))}]})
    data = torch.load(path, weights_only=True)
    assert torch.equal(data["a"], torch.arange(3))
    assert data["b"][0] == 1.5
    assert isinstance(data["b"][0], float)
    assert torch.equal(data["b"][1]["c"], torch.ones((2, 2), dtype=torch.float64))
