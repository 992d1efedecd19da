"""Helpers shared by the benchmark scripts: thread pinning, machine info, the timing loop, the JSON writer.

The scripts run as ``python benchmarks/<name>.py``, so this folder is ``sys.path[0]`` and ``import common``
finds this file; ``netslice`` comes from the installed package (``bash scripts/setup.sh`` builds ``.venv``
with it, editable).

Importing this module pins the BLAS/OpenMP pools to one thread (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``
and ``MKL_NUM_THREADS`` set to 1), so that every figure is single-threaded and compares across machines. The
pools read these variables when numpy loads: import this module before numpy (the scripts import it first,
in an import block of its own).
"""

from __future__ import annotations

import os

os.environ.update(dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1"))

import argparse
import json
import math
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netslice.provenance import environment, git_revision, package_version

#: The thread variables set to 1 on import (recorded under ``machine.threads``).
THREAD_VARS: tuple[str, ...] = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: The checkout the benchmarks belong to (its git revision goes into ``machine``).
REPO = Path(__file__).resolve().parent.parent
#: Where the scripts write their JSON by default.
RESULTS_DIR = REPO / "benchmarks" / "results"
#: Timed repeats per point; the figure is their median.
REPEATS = 5
#: Warm-up: at least this many steps, and at least half the per-repeat time (numba compiles, caches fill).
WARMUP_STEPS = 3
#: Minimum wall time of one timed repeat (s), and with ``--quick``.
MIN_TIME_S = 0.5
QUICK_MIN_TIME_S = 0.2


def loadavg() -> list[float] | None:
    """System load average (1, 5, 15 min): other processes on the machine skew the timings."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    """Platform, interpreter, library versions, CPU model and count, thread settings, load, time, git revision."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = os.cpu_count() or 0
    info: dict[str, Any] = {
        **environment(),
        "scipy": package_version("scipy"),
        "nproc": affinity,
        "cpu_count": os.cpu_count(),
        "threads": {v: os.environ.get(v) for v in THREAD_VARS},
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_1_5_15": loadavg(),
    }
    info.update(git_revision(REPO))
    return info


def time_calls(step: Callable[[], object], n: int) -> float:
    """Wall time of ``n`` calls of ``step`` (s)."""
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return time.perf_counter() - t0


def calibrate(run: Callable[[int], float], min_time_s: float) -> int:
    """Warm up, then the step count whose run takes at least ``min_time_s``, found by doubling.

    Args:
        run: runs that many steps and returns their wall time (s), e.g. ``functools.partial(time_calls, step)``.
        min_time_s: the wall time one timed repeat must reach.

    The warm-up runs :data:`WARMUP_STEPS` steps at a time until it has taken at least ``min_time_s / 2``.
    """
    warm = run(WARMUP_STEPS)
    while warm < 0.5 * min_time_s:
        warm += run(WARMUP_STEPS)
    n = 1
    elapsed = run(n)
    while elapsed < min_time_s:
        # Aim a little past the target; at least double so that noisy short runs cannot stall the loop.
        n = max(2 * n, math.ceil(1.2 * n * min_time_s / max(elapsed, 1e-9)))
        elapsed = run(n)
    return n


def write_json(path: Path, data: object) -> None:
    """Write JSON atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def parser(doc: str | None, default_out: Path, quick_help: str | None = None) -> argparse.ArgumentParser:
    """An argument parser described by the first line of ``doc``, with ``--out`` (and ``--quick``).

    Args:
        doc: the script's docstring.
        default_out: ``--out``'s default, the JSON under :data:`RESULTS_DIR`.
        quick_help: when given, a ``--quick`` flag with this help.
    """
    p = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    if quick_help is not None:
        p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--out", type=Path, default=default_out, help="JSON output path")
    return p
