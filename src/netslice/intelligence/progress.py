"""Progress of long jobs: a rich bar on a terminal, plain periodic lines when output goes to a file or pipe.

``netslice train > log.txt`` cannot show a live bar, so :class:`PlainProgress` prints one line per task
every :data:`PLAIN_INTERVAL_S` seconds (``--progress-every``), on the first update and when the task
completes::

    train ppo: 12/300 (4%) step 3,456/86,400, 2,650 steps/s, usage 0.307, violations 93.8% (so far 95.1%);
      elapsed 0:00:11, ETA 0:04:31

(one line, broken here; ``violations``: the last update's rate; ``so far``: over every slot the run has
played, :mod:`netslice.intelligence.agents.training_ledger`.)

The ETA extrapolates the rate of this invocation (a resumed run does not count the restored updates).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

#: Default seconds between two plain progress lines of a task (when output is not a terminal).
PLAIN_INTERVAL_S = 30.0


def _clock(seconds: float) -> str:
    s = int(max(seconds, 0.0))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


@dataclass
class _Task:
    description: str
    total: float
    completed: float
    info: str
    started: float
    start_completed: float
    last_print: float | None = None
    finished: bool = False


class PlainProgress:
    """The subset of :class:`rich.progress.Progress` the jobs use, printing plain lines instead of a bar.

    Args:
        console: where to print.
        interval_s: seconds between two lines of a task (0: every update).
        clock: monotonic time source (injectable for tests).
    """

    def __init__(
        self, console: Console, interval_s: float = PLAIN_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.console = console
        self.interval_s = interval_s
        self.clock = clock
        self._tasks: list[_Task] = []

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def add_task(self, description: str, total: float | None = 100.0, completed: float = 0, **fields: Any) -> TaskID:
        """Register a task (nothing is printed until its first update)."""
        now = self.clock()
        self._tasks.append(
            _Task(description, float(total or 0), float(completed), str(fields.get("info", "")), now, float(completed))
        )
        return TaskID(len(self._tasks) - 1)

    def update(self, task_id: TaskID, *, completed: float | None = None, **fields: Any) -> None:
        """Record progress; print a line on the first update, every ``interval_s`` and at completion."""
        task = self._tasks[task_id]
        if completed is not None:
            task.completed = float(completed)
        if "info" in fields:
            task.info = str(fields["info"])
        now = self.clock()
        done = task.total > 0 and task.completed >= task.total
        due = task.last_print is None or now - task.last_print >= self.interval_s
        if (done and not task.finished) or (due and not done):
            task.last_print, task.finished = now, done
            self.console.print(escape(self.line(task, now)), highlight=False, soft_wrap=True)

    @staticmethod
    def line(task: _Task, now: float) -> str:
        """The progress line of a task at time ``now``."""
        elapsed = now - task.started
        pct = task.completed / task.total if task.total else 0.0
        rate = (task.completed - task.start_completed) / elapsed if elapsed > 0 else 0.0
        eta = (task.total - task.completed) / rate if rate > 0 else None
        text = f"{task.description}: {task.completed:,.0f}/{task.total:,.0f} ({pct:.0%})"
        if task.info:
            text += f" {task.info}"
        text += f"; elapsed {_clock(elapsed)}"
        if task.completed < task.total:
            text += f", ETA {_clock(eta) if eta is not None else '?'}"
        return text


def progress(console: Console, interval_s: float = PLAIN_INTERVAL_S) -> Progress | PlainProgress:
    """A rich progress bar on a terminal, else :class:`PlainProgress` printing every ``interval_s`` seconds."""
    if not console.is_terminal:
        return PlainProgress(console, interval_s)
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console,
    )  # fmt: skip
