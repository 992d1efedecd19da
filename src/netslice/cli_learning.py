"""The learning commands beyond ``train`` and ``evaluate``: ``netslice imitate`` and ``netslice reproduce``.

Registered on the command line's app by :mod:`netslice.cli`; their jobs are
:mod:`netslice.intelligence.imitation.job` and :mod:`netslice.intelligence.reproduce.job` (imported when a command
runs: torch is not loaded at start-up).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from netslice.cli_common import PROGRESS_OPTION, console, fail
from netslice.errors import NetsliceError
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.imitation.bc_config import BCConfig
from netslice.intelligence.progress import PLAIN_INTERVAL_S
from netslice.intelligence.run_config import RunConfig


def imitate(
    teacher: Annotated[
        str, typer.Option(help="The teacher: rule, forecast, forecast:Q, or any --policy of evaluate.")
    ] = "rule",
    scenario: Annotated[str, typer.Option(help="Scenario name or YAML path.")] = "testbed-v0",
    days: Annotated[int, typer.Option(min=1, help="Days of demonstrations per network.")] = 30,
    n_envs: Annotated[int, typer.Option(min=1, help="Networks playing the teacher.")] = 16,
    seed: Annotated[int, typer.Option(help="Seed of the demonstrations, the clone and the evaluation.")] = 0,
    epochs: Annotated[int, typer.Option(min=1, help="Behaviour-cloning epochs.")] = BCConfig.epochs,
    batch_size: Annotated[int, typer.Option(min=1, help="Samples per Adam step.")] = BCConfig.batch_size,
    learning_rate: Annotated[float, typer.Option(help="Adam step size, in (0, 1].")] = BCConfig.learning_rate,
    holdout: Annotated[float, typer.Option(help="Fraction of episodes held out, in [0, 1).")] = BCConfig.holdout,
    quantile: Annotated[
        float, typer.Option(help="Quantile of the pinball loss, in (0, 1); above 0.5 errs towards larger shares.")
    ] = BCConfig.quantile,
    day_history: Annotated[
        bool | None,
        typer.Option(help="Give the clone the day-history features (default: as --config's PPO run, else off)."),
    ] = None,
    eval_days: Annotated[int, typer.Option(min=1, help="Days of each evaluation.")] = 2,
    eval_envs: Annotated[int, typer.Option(min=1, help="Networks of each evaluation.")] = 8,
    dataset: Annotated[Path | None, typer.Option(help="Clone this dataset folder instead of collecting.")] = None,
    config: Annotated[
        Path | None, typer.Option(help="Take the network shape from this run_config.json (of the PPO run to start).")
    ] = None,
    run_dir: Annotated[
        Path | None, typer.Option(help="Output folder (default runs/SCENARIO-bc-TEACHER-sSEED).")
    ] = None,
    progress_every: Annotated[float, PROGRESS_OPTION] = PLAIN_INTERVAL_S,
) -> None:
    """Clone a teacher policy into a PPO actor (behaviour cloning), the start point of online learning.

    Collects the teacher's demonstrations through the orchestrator (a Minari dataset in RUN_DIR/dataset), trains the
    clone, evaluates it after each epoch. Writes RUN_DIR/checkpoint.pt (for netslice train --warm-actor RUN_DIR),
    bc.json and bc_curve.png.
    """
    from netslice.intelligence.imitation.job import imitate as run_imitate

    try:
        ppo = RunConfig.load(config).ppo if config is not None else PPOConfig()
        if day_history is not None:
            ppo = replace(ppo, day_history=day_history)
        bc = BCConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, holdout=holdout, seed=seed,
                      quantile=quantile)  # fmt: skip
        out = run_dir or Path("runs") / f"{Path(scenario).stem}-bc-{teacher.replace(':', '_')}-s{seed}"
        run_imitate(teacher, scenario, out, console, days=days, n_envs=n_envs, seed=seed, bc=bc, ppo=ppo,
                    eval_days=eval_days, eval_envs=eval_envs, data=dataset, progress_every=progress_every)  # fmt: skip
    except NetsliceError as err:
        raise fail(err) from None


def reproduce(
    quick: Annotated[bool, typer.Option("--quick", help="A CI-sized run: one seed, a few updates.")] = False,
    out: Annotated[Path | None, typer.Option(help="Folder of the runs (default runs/reproduce[-quick]).")] = None,
    report_dir: Annotated[
        Path | None, typer.Option(help="Where report.md and its figures go (default: the runs' folder).")
    ] = None,
    seeds: Annotated[list[int] | None, typer.Option("--seed", help="Repeatable; default 0-4 (0 with --quick).")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Env steps of every training run.")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Runs side by side (processes).")] = 2,
    progress_every: Annotated[float, PROGRESS_OPTION] = PLAIN_INTERVAL_S,
) -> None:
    """Regenerate the paper's evaluation on testbed-v0 and testbed-live-v0 and write a Markdown report.

    Safe online learning (penalty, Lagrangian, baseline switching), behaviour cloning warm start, sim-to-real
    transfer, the forecast planner and the oracle; every seed; figures and the exact commands. Resumable: run it again
    to finish an interrupted reproduction.
    """
    from dataclasses import replace

    from netslice.intelligence.reproduce.job import reproduce as run_reproduce
    from netslice.intelligence.reproduce.plan import Settings

    try:
        settings = Settings.quick() if quick else Settings()
        settings = replace(settings, seeds=tuple(seeds) if seeds else settings.seeds, steps=steps or settings.steps)
        folder = out or Path("runs") / ("reproduce-quick" if quick else "reproduce")
        given = [*(["--quick"] if quick else []), *(f"--seed {s}" for s in seeds or ()),
                 *([f"--steps {steps}"] if steps else []), f"--jobs {jobs}"]  # fmt: skip
        command = " ".join(["netslice reproduce", *given])
        run_reproduce(settings, folder, console, jobs=jobs, report_dir=report_dir, command=command,
                      progress_every=progress_every)  # fmt: skip
    except NetsliceError as err:
        raise fail(err) from None
