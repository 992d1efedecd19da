"""The job behind ``netslice imitate``: collect a teacher's demonstrations, clone them, evaluate every epoch.

Writes to the run folder:

* ``dataset/``: the demonstrations, a Minari dataset (:mod:`.dataset`), unless an existing one was given;
* ``checkpoint.pt``: the clone as a PPO checkpoint (evaluate it with ``netslice evaluate --policy RUN_DIR``;
  start PPO from it with ``netslice train --warm-actor RUN_DIR``);
* ``bc.json`` (:data:`BC_FILE`): the metadata, the settings, the teacher's figures on the dataset and on the
  evaluation networks, and one row per epoch (:mod:`.bc`'s metrics);
* ``bc_curve.png``/``.svg``: the clone's usage and violations over the epochs, the teacher's as a line.

The demonstrations are played on networks seeded with :data:`DATASET_SEED` + the seed (the operator's history of
the teacher, a stream apart from training, ``seed``, and evaluation, ``1000 + seed``); the clone and the teacher
are evaluated on the evaluation networks of ``netslice train`` with the same seed.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from netslice.intelligence import plots
from netslice.intelligence.agents.ppo import PPOPolicy
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.imitation import dataset
from netslice.intelligence.imitation.bc import clone
from netslice.intelligence.imitation.bc_config import BCConfig
from netslice.intelligence.progress import PLAIN_INTERVAL_S, progress
from netslice.intelligence.run import make_policy, meta
from netslice.intelligence.run_config import write_json_atomic
from netslice.network.scenarios import load

#: Offset of the demonstration networks' seed from the run's seed.
DATASET_SEED = 3_000_000
#: The cloning's figures in a run folder.
BC_FILE = "bc.json"
#: Metrics of an evaluation that the epoch rows keep.
EVAL_KEYS = ("usage/mean", "sla/violation_rate")


def imitate(
    teacher: str, scenario: str, run_dir: Path, console: Console, *, days: int = 30, n_envs: int = 16, seed: int = 0,
    bc: BCConfig | None = None, ppo: PPOConfig | None = None, eval_days: int = 2, eval_envs: int = 8,
    data: Path | None = None, progress_every: float = PLAIN_INTERVAL_S,
) -> dict[str, Any]:  # fmt: skip
    """Collect (or read ``data``), clone, evaluate; write the files of the module docstring; return ``bc.json``.

    Args:
        teacher: the teacher's policy spec (``rule``, ``forecast``, ``forecast:Q``, ... as ``netslice evaluate``).
        scenario: scenario name or YAML path.
        run_dir: the run folder.
        console: where progress and the summary go.
        days: days of demonstrations per network.
        n_envs: networks playing the teacher.
        seed: the run's seed (demonstrations, split, network initialisation, evaluation networks).
        bc: the cloning's hyper-parameters (default :class:`BCConfig` with ``seed``).
        ppo: the network shape of the PPO run the clone will start (default :class:`PPOConfig`).
        eval_days: days of each evaluation (teacher, and the clone after each epoch).
        eval_envs: networks of each evaluation.
        data: an existing dataset folder to clone instead of collecting one.
        progress_every: seconds between progress lines when not on a terminal.

    Raises:
        ConfigError: a bad teacher, scenario, size or dataset (named).
    """
    sc = load(scenario)
    bc = bc or BCConfig(seed=seed)
    ppo = ppo or PPOConfig()
    eval_seed = 1000 + seed
    with progress(console, progress_every) as bar:
        if data is None:
            task = bar.add_task(f"collect {teacher}", total=days * sc.spec.slots_per_episode, info="")
            demos = dataset.collect(
                make_policy(teacher, sc), teacher, sc, days, n_envs, DATASET_SEED + seed,
                progress=lambda done, _total: bar.update(task, completed=done),
            )  # fmt: skip
            data = dataset.save(demos, run_dir / "dataset")
        else:
            demos = dataset.load(data)
        teacher_eval = evaluate(make_policy(demos.meta["teacher"], sc), "teacher", sc, eval_days, eval_envs, eval_seed)
        epochs = bar.add_task("clone", total=bc.epochs + 1, info="")

        def on_epoch(epoch: int, policy: PPOPolicy) -> dict[str, float]:
            summary = evaluate(policy, "clone", sc, eval_days, eval_envs, eval_seed).summary()
            bar.update(epochs, completed=epoch + 1, info=f"usage {summary['usage/mean']:.3f}, violations "
                       f"{summary['sla/violation_rate']:.1%}")  # fmt: skip
            return {key: summary[key] for key in EVAL_KEYS}

        result = clone(demos, ppo, bc, on_epoch, scenario=sc)
    teacher_row = {key: teacher_eval.summary()[key] for key in EVAL_KEYS}
    result.policy().save(run_dir / "checkpoint.pt", ppo,
                         bc={"config": asdict(bc), "history": result.history, "dataset": str(data)})  # fmt: skip
    info = meta(scenario=sc.name, teacher=demos.meta["teacher"], seed=seed, eval_days=eval_days, eval_envs=eval_envs,
                eval_seed=eval_seed)  # fmt: skip
    record = {
        "meta": info,
        "bc": asdict(bc),
        "ppo": asdict(ppo),
        "dataset": {"path": str(data), **demos.meta, **demos.summary()},
        "teacher": teacher_row,
        "history": result.history,
        "train_episodes": len(result.train_episodes),
        "holdout_episodes": len(result.holdout_episodes),
    }
    write_json_atomic(run_dir / BC_FILE, record)
    paths = [run_dir / BC_FILE, run_dir / "checkpoint.pt", *plots.bc_curve(result.history, teacher_row,
                                                                            run_dir / "bc_curve")]  # fmt: skip
    last = result.history[-1]
    console.print(
        f"teacher {demos.meta['teacher']}: usage {teacher_row['usage/mean']:.3f}, violations "
        f"{teacher_row['sla/violation_rate']:.2%}; clone after {bc.epochs} epochs: usage {last['usage/mean']:.3f} "
        f"({(last['usage/mean'] / teacher_row['usage/mean'] - 1):+.1%}), violations {last['sla/violation_rate']:.2%}, "
        f"held-out action error {last.get('bc/holdout_mae', np.nan):.4f}",
        soft_wrap=True,
    )
    console.print("results: " + ", ".join(str(p) for p in paths), soft_wrap=True)
    return record
