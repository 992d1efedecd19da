"""``netslice train --workers N``: configuration errors, Ray as an optional extra, and training on Ray workers.

The Ray tests are skipped when ray (the ``ray`` extra) is not installed; the Ray smoke test (start, stop, no process
left) is in ``test_ray_smoke.py``.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from rich.console import Console

from netslice.errors import ConfigError
from netslice.intelligence import run
from netslice.intelligence.agents.checkpoint import CheckpointError
from netslice.intelligence.agents.distributed import import_ray, worker_seed
from netslice.intelligence.agents.ppo import PPO
from netslice.intelligence.run_config import RunConfig

TIMINGS = ("charts/sps", "time/rollout_s", "time/learn_s", "time/worker_collect_s")


def _has_ray() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


NO_RAY = "ray is not installed (the ray extra: pip install 'netslice[ray]')"
needs_ray = pytest.mark.skipif(not _has_ray(), reason=NO_RAY)


# ----------------------------------------------------------------------------------------------- configuration


def test_workers_must_divide_the_networks() -> None:
    with pytest.raises(ConfigError, match=r"n_envs: must be a multiple of workers \(3\).*got 16"):
        RunConfig(n_envs=16, workers=3)
    assert RunConfig(n_envs=16, workers=4).workers == 4


def test_workers_are_not_negative() -> None:
    with pytest.raises(ConfigError, match="workers: must be at least 0"):
        RunConfig().overridden({"workers": -1})


def test_workers_refuse_switching_naming_both_options() -> None:
    with pytest.raises(ConfigError, match=r"--workers.*--switching"):
        RunConfig(workers=2).overridden({"switching": True})


def test_the_record_holds_the_workers_and_a_file_without_them_runs_locally() -> None:
    assert RunConfig(workers=2).record()["workers"] == 2
    assert RunConfig.from_dict({"n_envs": 8}).workers == 0


def test_without_ray_workers_fail_saying_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(ConfigError, match=r"netslice\[ray\]"):
        import_ray()


def test_the_command_line_does_not_import_ray() -> None:
    code = "import sys, netslice.cli, netslice.intelligence.run; assert 'ray' not in sys.modules, 'ray imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr


def test_each_worker_has_its_own_seed_stream() -> None:
    seeds = {worker_seed(s, i) for s in (0, 1) for i in range(4)}
    assert len(seeds) == 8
    assert worker_seed(0, 1) == worker_seed(0, 1)


# -------------------------------------------------------------------------------------------------- on Ray


@pytest.fixture(scope="module")
def ray_session() -> Iterator[Any]:
    """One local Ray for the module's learners (their collectors then do not own it)."""
    ray = pytest.importorskip("ray", reason="ray is not installed")
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="warning")
    yield ray
    if started:
        ray.shutdown()


def _tiny(workers: int, **extra: Any) -> RunConfig:
    values = {"total_steps": 4 * 24 * 4, "minibatch_size": 32, "checkpoint_every": 2, **extra}
    return RunConfig(n_envs=4, workers=workers, eval_days=1, eval_envs=1).overridden(values)


def _without_timings(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k not in TIMINGS} for row in history]


@needs_ray
def test_a_resumed_run_on_workers_continues_exactly(tmp_path: Path, ray_session: Any) -> None:
    """With a safety method (the cost buffers travel too); the workers restore their env snapshots."""
    from netslice.intelligence.agents.distributed import RayCollector

    cfg = _tiny(2, method="pid", cost_penalty=0.0)

    def learner(run_dir: Path, collector: RayCollector) -> PPO:
        return PPO(cfg.ppo, None, run_dir, run_config=cfg.record(), safety=cfg.safety, collector=collector)

    with RayCollector(cfg) as collector:
        assert not collector.owns_ray
        whole = learner(tmp_path / "whole", collector)
        whole.train()
    with RayCollector(cfg) as collector:
        learner(tmp_path / "parts", collector).train(max_updates=2)  # checkpoint at update 2
    with RayCollector(cfg) as collector:
        resumed = learner(tmp_path / "parts", collector)
        assert resumed.resume()
        assert resumed.update == 2
        resumed.train()
    assert _without_timings(resumed.stats.history) == _without_timings(whole.stats.history)
    for (name, a), b in zip(whole.agent.state_dict().items(), resumed.agent.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert resumed.ledger.summary() == whole.ledger.summary()
    assert whole.ledger.slots == 4 * 24 * 4
    assert any(k.startswith("safety/lambda") for k in whole.stats.history[-1])


@needs_ray
def test_workers_refuse_a_checkpoint_of_another_number_of_workers(tmp_path: Path, ray_session: Any) -> None:
    from netslice.intelligence.agents.distributed import RayCollector

    one, two = _tiny(1), _tiny(2)
    with RayCollector(one) as collector:
        PPO(one.ppo, None, tmp_path, collector=collector).train(max_updates=2)
    with RayCollector(two) as collector, pytest.raises(CheckpointError, match="not that of 2 workers"):
        PPO(two.ppo, None, tmp_path, collector=collector).resume()


@needs_ray
def test_workers_normalise_with_the_statistics_sent_and_return_their_moments(tmp_path: Path, ray_session: Any) -> None:
    from netslice.intelligence.agents.distributed import RayCollector

    cfg = _tiny(2)
    with RayCollector(cfg) as collector:
        ppo = PPO(cfg.ppo, None, tmp_path, collector=collector)
        assert ppo.obs_rms is not None
        sent = ppo.obs_rms.state_dict()
        got = collector.collect(ppo.agent, ppo.obs_rms, update_obs=True)
        assert ppo.obs_rms.state_dict() == sent  # the workers do not touch the learner's statistics
        assert got.obs_moments is not None
        assert got.obs_moments[2] == 24 * 4
        assert got.buf.obs.shape == (24, 4, ppo.n_obs)
        np.testing.assert_array_less(np.abs(got.buf.obs), 10.0 + 1e-6)  # normalised (clipped at 10)
        with pytest.raises(AttributeError, match="workers"):
            _ = ppo.obs


@needs_ray
def test_a_two_worker_run_writes_the_files_of_a_local_run(tmp_path: Path) -> None:
    """``netslice train`` with 2 workers (starting its own Ray unless one runs) and without: the same run folder."""
    folders = {}
    for workers in (0, 2):
        cfg = RunConfig(n_envs=4, workers=workers, eval_days=1, eval_envs=1).overridden(
            {"total_steps": 2 * 24 * 4, "minibatch_size": 32}
        )
        out = tmp_path / f"w{workers}"
        run.train(cfg, out, False, Console(file=io.StringIO()), progress_every=0)
        folders[workers] = out

    def files(folder: Path) -> set[str]:
        return {str(p.relative_to(folder).parent if p.parent.name == "tb" else p.relative_to(folder))
                for p in folder.rglob("*") if p.is_file()}  # fmt: skip

    assert files(folders[2]) == files(folders[0])
    assert {"training.json", "evaluation.json", "checkpoint.pt", "run_config.json", "tb"} <= files(folders[2])
    local, remote = ({n: json.loads((folders[w] / n).read_text()) for n in ("training.json", "evaluation.json")}
                     for w in (0, 2))  # fmt: skip
    assert remote["training.json"].keys() == local["training.json"].keys()
    assert remote["training.json"]["slots"] == local["training.json"]["slots"] == 2 * 24 * 4
    assert remote["training.json"]["meta"]["workers"] == 2
    assert remote["evaluation.json"]["policies"].keys() == local["evaluation.json"]["policies"].keys()
    assert json.loads((folders[2] / "run_config.json").read_text())["workers"] == 2
