"""Checkpoints written atomically (a temporary file in the same folder, fsync, then rename) and read defensively.

A save killed half-way (``kill -9``, power loss) leaves a temporary ``.checkpoint.pt.XXXXXXXX`` next
to the checkpoint, never a half-written checkpoint; :func:`remove_stale_temp_files` deletes those
left-overs when a run starts again in that folder. A checkpoint that cannot be used (empty, truncated,
garbage, or a torch file without the expected entries) raises :class:`CheckpointError`, which names the
file, says why and what to do. A checkpoint written with another configuration than the run that resumes
it is refused by :func:`check_same_config`, naming the differing keys.

Files hold only what ``torch.load(..., weights_only=True)`` accepts: tensors and plain Python data. NumPy
arrays are stored as tensors and numpy scalars as Python numbers (:func:`plain`), so reading a checkpoint
never runs code from the file. (A PPO checkpoint also carries the pickled orchestrator of its run as
``bytes``; only :meth:`~netslice.intelligence.agents.ppo.PPO.resume` unpickles it, so resume only runs
you wrote. Evaluating a checkpoint someone hands you never does.)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from netslice.errors import ConfigError, NetsliceError

#: What to do about a bad checkpoint, appended to every :class:`CheckpointError` unless a caller gives its own.
DEFAULT_HINT = "delete it, or rerun `netslice train` with --no-resume to start over"


class CheckpointError(NetsliceError, ValueError):
    """A checkpoint file cannot be used: empty, truncated, not a torch file, or missing entries."""


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def plain(value: Any) -> Any:
    """``value`` with numpy arrays as CPU tensors and numpy scalars as Python numbers, in nested dicts, lists, tuples.

    >>> plain({"a": np.arange(2), "b": [np.float64(0.5)]})
    {'a': tensor([0, 1]), 'b': [0.5]}
    """
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value, copy=True))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    return value


#: Entries a checkpoint needs to act as a policy (``PPOPolicy.load``, a warm start's actor).
POLICY_KEYS = ("config", "n_obs", "n_act", "agent", "obs_rms")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (made :func:`plain`) with ``torch.save``: ``path`` is the old or the new file, never half.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(plain(payload), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def remove_stale_temp_files(path: str | Path) -> list[Path]:
    """Delete the temporary files that interrupted saves of checkpoint ``path`` left in its folder.

    Only call this when no other process is saving that checkpoint (at the start of a run).

    Returns:
        The files removed.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    stale = [p for p in path.parent.glob(f"{_temp_prefix(path)}*") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def _why(err: BaseException) -> str:
    """A one-line reason from a torch/pickle load error."""
    if "Weights only load failed" in str(err):
        return ("it holds objects other than tensors and plain data (a checkpoint of netslice before 0.1.0, or "
                "not a netslice file), which are not loaded because unpickling them could run code")  # fmt: skip
    first = (str(err).strip().splitlines() or [""])[0].strip()
    if len(first) > 120:
        first = first[:117] + "..."
    return f"truncated or not a torch checkpoint ({type(err).__name__}: {first})" if first else type(err).__name__


def load_checkpoint(path: str | Path, required: Iterable[str] = (), hint: str = DEFAULT_HINT) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on the CPU).

    Args:
        path: the checkpoint file.
        required: entries the caller needs; a checkpoint without one of them is rejected.
        hint: what the user should do about a bad file (ends the error message).

    Raises:
        CheckpointError: the file is missing, empty, truncated, not a torch file, not a dict, or lacks
            a ``required`` entry.
    """
    path = Path(path)

    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {path}: {why}; {hint}")

    try:
        size = path.stat().st_size
    except OSError as err:
        raise bad(f"cannot be read ({err.strerror or err})") from None
    if size == 0:
        raise bad("the file is empty (0 bytes)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)  # never runs code from the file
    except Exception as err:  # torch and pickle raise many types (RuntimeError, UnpicklingError, EOFError, ...)
        raise bad(_why(err)) from None
    if not isinstance(data, dict):
        raise bad(f"a torch file holding a {type(data).__name__}, not a netslice checkpoint")
    missing = [key for key in required if key not in data]
    if missing:
        kind = data.get("kind")
        held = f"; it holds {kind} agents: --agents {kind}, evaluated as {kind}:PATH" if kind else ""
        raise bad(f"not a netslice PPO checkpoint (missing {', '.join(missing)}{held})")
    return data


def config_differences(
    saved: dict[str, Any], wanted: dict[str, Any], ignore: Iterable[str] = ()
) -> dict[str, tuple[Any, Any]]:
    """Dotted key (``"n_envs"``, ``"ppo.learning_rate"``) -> (saved, wanted) for each value that differs.

    Lists and tuples with the same items are equal. Keys that only one side has are not compared (a config
    written by an older version lacks the fields added since), nor the top-level keys in ``ignore``.

    >>> config_differences({"a": 1, "ppo": {"lr": 0.1, "h": (8,)}}, {"a": 1, "ppo": {"lr": 0.2, "h": [8]}})
    {'ppo.lr': (0.1, 0.2)}
    """

    def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in d.items():
            if isinstance(value, dict):
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
        return out

    a, b = flat(saved), flat(wanted)
    skip = set(ignore)
    return {key: (a[key], b[key]) for key in a if key in b and key.split(".")[0] not in skip and a[key] != b[key]}


def check_same_config(
    path: str | Path, saved: dict[str, Any], wanted: dict[str, Any], hint: str, ignore: Iterable[str] = ()
) -> None:
    """Refuse to resume checkpoint ``path`` (written with config ``saved``) in a run configured as ``wanted``.

    Raises:
        CheckpointError: some value differs (see :func:`config_differences`); the message names each key with
            both values, then ``hint``.
    """
    differences = config_differences(saved, wanted, ignore)
    if differences:
        diffs = "; ".join(f"{key}: {old!r} there, {new!r} here" for key, (old, new) in differences.items())
        raise CheckpointError(f"checkpoint {path}: written by a run with another configuration ({diffs}); {hint}")


@contextmanager
def restoring(path: str | Path, hint: str = DEFAULT_HINT) -> Iterator[None]:
    """Turn an error while applying a loaded checkpoint (wrong shapes, types, config) into a :class:`CheckpointError`.

    Raises:
        CheckpointError: the body raised ``KeyError``, ``TypeError``, ``ValueError`` or ``RuntimeError``.
    """
    try:
        yield
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
        why = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise CheckpointError(
            f"checkpoint {path}: its content does not fit this netslice run ({type(err).__name__}: {why[:160]}); {hint}"
        ) from None


def run_checkpoint(path: str | Path, agents: str) -> Path:
    """The ``checkpoint.pt`` of a run folder (or the file itself), which must exist.

    Args:
        path: a run folder of ``netslice train`` or its checkpoint file.
        agents: the ``--agents`` mode the run is expected to have, named in the error.

    Raises:
        ConfigError: nothing there.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.exists():
        raise ConfigError(f"policy: {str(path)!r} does not exist; give a run folder of `netslice train "
                          f"--agents {agents}` or its checkpoint.pt")  # fmt: skip
    return path
