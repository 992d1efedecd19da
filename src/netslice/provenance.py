"""Where a result came from: the source revision and the software and CPU that computed it.

Results that the docs quote (``docs/results``) and benchmark JSON carry this record, so that a figure can be
traced to the commit that produced it and a rerun can tell whether it ran on the same kind of machine (the same
seed gives bit-identical results only with the same library versions and the same CPU kernels).

>>> sorted(environment())[:3]
['cpu_model', 'numba', 'numpy']
"""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: The checkout holding this package's source, when it is installed in editable mode from git.
SOURCE_ROOT = Path(__file__).resolve().parents[2]


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo`` on Linux, else what :mod:`platform` knows, else ``unknown``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or ``None`` when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_revision(root: Path = SOURCE_ROOT) -> dict[str, Any]:
    """``git_commit`` and ``git_dirty`` (tracked files changed) of the checkout at ``root``; ``None`` outside git."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD") if (root / ".git").exists() else None
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status)}


def environment() -> dict[str, Any]:
    """Interpreter, library versions, platform and CPU; with torch's CPU kernel level when torch is loaded."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": package_version("numpy"),
        "numba": package_version("numba"),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:  # importing torch here would cost a second to callers that never use it
        info["torch"] = torch.__version__
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return info
