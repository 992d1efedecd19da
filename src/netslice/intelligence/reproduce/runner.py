"""Running the tasks of :mod:`.plan`: in worker processes, resumable, with progress.

A task is done when its folder has :data:`DONE_FILE`; a rerun skips it. An interrupted training run resumes from
its checkpoint (``netslice train``'s own resume). Each task writes its console output to ``folder/log.txt``.
Tasks run in ``jobs`` worker processes (spawned, one torch thread each), a task only once the tasks it needs are
done.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from rich.console import Console

from netslice.intelligence.reproduce.plan import BASELINES, Task
from netslice.intelligence.run_config import write_json_atomic

#: Marks a finished task (with its wall time).
DONE_FILE = "done.json"


def is_done(task: Task) -> bool:
    """Whether ``task`` finished in an earlier run."""
    return (task.folder / DONE_FILE).exists()


def run_task(task: Task) -> dict[str, Any]:
    """Run one task in this process (see the module docstring); return what :data:`DONE_FILE` holds."""
    import torch

    from netslice.intelligence.run import evaluate_all, make_policy, report
    from netslice.intelligence.run import train as run_train
    from netslice.intelligence.run_config import RunConfig
    from netslice.network.scenarios import load

    torch.set_num_threads(1)
    task.folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with (task.folder / "log.txt").open("a") as log:
        console = Console(file=log, width=150)
        if task.kind == "train":
            cfg = RunConfig().overridden(task.config, f"task {task.folder}")
            run_train(cfg, task.folder, True, console, baselines=())
        elif task.kind == "bc":
            from netslice.intelligence.agents.ppo_config import PPOConfig
            from netslice.intelligence.imitation import dataset
            from netslice.intelligence.imitation.bc_config import BCConfig
            from netslice.intelligence.imitation.job import imitate

            c = task.config
            kept = dataset.find(task.folder / "dataset")  # an interrupted cloning keeps its demonstrations
            imitate(c["teacher"], task.scenario, task.folder, console, days=int(c["days"]), n_envs=int(c["n_envs"]),
                    seed=task.seed, bc=BCConfig(epochs=int(c["epochs"]), seed=task.seed),
                    ppo=PPOConfig(day_history=bool(c.get("day_history", False))),
                    eval_days=int(c["eval_days"]), eval_envs=int(c["eval_envs"]), data=kept)  # fmt: skip
        elif task.kind == "baselines":
            sc = load(task.scenario)
            days, n_envs = int(task.config["eval_days"]), int(task.config["eval_envs"])
            policies = {name: make_policy(name, sc) for name in BASELINES}
            results = evaluate_all(policies, sc, days, n_envs, 1000 + task.seed, console)
            report(results, task.folder, console, None, days=days, n_envs=n_envs, seed=1000 + task.seed)
        else:
            raise ValueError(f"task kind {task.kind!r}: unknown")
    done = {"kind": task.kind, "name": task.name, "scenario": task.scenario, "seed": task.seed,
            "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
    write_json_atomic(task.folder / DONE_FILE, done)
    return done


def execute(
    tasks: list[Task], jobs: int, console: Console, on_done: Callable[[Task, dict[str, Any]], None] | None = None
) -> list[dict[str, Any]]:
    """Run the tasks not done yet, ``jobs`` at a time, each once its ``needs`` are done; return their records.

    Raises:
        RuntimeError: a task failed (names it and its log); tasks already done stay done.
    """
    pending = [t for t in tasks if not is_done(t)]
    finished = {t.folder for t in tasks if is_done(t)}
    records: list[dict[str, Any]] = []
    running: dict[Future[dict[str, Any]], Task] = {}
    context = multiprocessing.get_context("spawn")  # torch in a forked child can dead-lock
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
        while pending or running:
            ready = [t for t in pending if all(n in finished for n in t.needs)]
            for task in ready[: max(0, jobs - len(running))]:
                pending.remove(task)
                running[pool.submit(run_task, task)] = task
            if not running:
                raise RuntimeError(f"tasks wait on tasks that are not planned: {[str(t.folder) for t in pending]}")
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                try:
                    record = future.result()
                except Exception as err:
                    raise RuntimeError(f"task {task.folder} failed ({type(err).__name__}: {err}); see "
                                       f"{task.folder / 'log.txt'}") from err  # fmt: skip
                finished.add(task.folder)
                records.append(record)
                if on_done is not None:
                    on_done(task, record)
    return records


def read_done(task: Task) -> dict[str, Any]:
    """The record of a finished task."""
    data: dict[str, Any] = json.loads((task.folder / DONE_FILE).read_text())
    return data
