"""The job behind ``netslice reproduce``: plan, run (with progress), read, report."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from netslice.intelligence.progress import PLAIN_INTERVAL_S, progress
from netslice.intelligence.reproduce import report
from netslice.intelligence.reproduce.plan import Settings, Task, plan
from netslice.intelligence.reproduce.results import read
from netslice.intelligence.reproduce.runner import execute, is_done, read_done
from netslice.provenance import environment, git_revision


def reproduce(
    settings: Settings, out: Path, console: Console, *, jobs: int = 2, report_dir: Path | None = None,
    command: str = "netslice reproduce", progress_every: float = PLAIN_INTERVAL_S,
) -> Path:  # fmt: skip
    """Run every task of ``settings`` not done yet in ``out``, then write the report; return its path.

    Args:
        settings: the size of the reproduction.
        out: the folder of the tasks (and of the report, unless ``report_dir``).
        console: where progress goes.
        jobs: tasks run side by side (worker processes).
        report_dir: where ``report.md`` and its figures go (default ``out``).
        command: the command line, written into the report.
        progress_every: seconds between progress lines when not on a terminal.
    """
    tasks = plan(settings, out)
    start = time.perf_counter()
    with progress(console, progress_every) as bar:
        done_before = sum(is_done(t) for t in tasks)
        overall = bar.add_task("reproduce", total=len(tasks), completed=done_before, info="")

        finished = [done_before]

        def on_done(task: Task, record: dict[str, Any]) -> None:
            finished[0] += 1
            bar.update(overall, completed=finished[0],
                       info=f"{task.scenario} {task.name} s{task.seed} done in {record['seconds']:.0f} s")  # fmt: skip

        execute(tasks, jobs, console, on_done)
    outcomes = [read(t) for t in tasks]
    env = environment()
    header = {
        "command": command, **git_revision(), "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_s": time.perf_counter() - start, "cpu": f"{env.get('cpu_model', '?')} ({jobs} jobs)",
        "done_before": done_before, "task_s": sum(float(read_done(t)["seconds"]) for t in tasks),
    }  # fmt: skip
    target = report_dir or out
    target.mkdir(parents=True, exist_ok=True)
    path = report.write(outcomes, settings, target, header)
    console.print(f"report: {path}", soft_wrap=True)
    return path
