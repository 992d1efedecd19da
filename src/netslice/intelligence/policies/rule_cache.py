"""A disk cache of the rule-based policy's dimensioning tables (:func:`cached_dimension`).

Building a table searches allocations for every slice, level and fade tier on the scenario's model: about a second
on testbed-live-v0, minutes on metro-v0 and 5-15 minutes on city-v0, at every ``netslice evaluate --policy rule``
and every training run with a shield. The table depends only on the scenario and the code that builds it, so it
is kept on disk:

- key: a SHA-256 over every field of the scenario's parameters (each array's dtype, shape and bytes, each scalar's
  repr, nested dataclasses in field order), the scenario's name, the search's settings and the source of the
  modules that compute the table (:mod:`.rule_table`, :mod:`.oracle`, the network model): a change to any of them
  is a new key, never a stale table;
- file: ``<cache>/rule/<key>.npz`` (numpy arrays only, read with ``allow_pickle=False``), written atomically
  (a temporary file in the same folder, then a rename);
- ``<cache>``: ``$NETSLICE_CACHE_DIR``, else ``$XDG_CACHE_HOME/netslice``, else ``~/.cache/netslice``;
  ``NETSLICE_CACHE_DIR=off`` turns the cache off. A file that cannot be read (truncated, foreign) is rebuilt
  and replaced; a cache folder that cannot be written is skipped silently (the table is still returned).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from netslice.intelligence.policies import oracle, rule_table
from netslice.intelligence.policies.rule_table import SEARCH, Dimensioning, dimension
from netslice.network import model
from netslice.network.scenarios import Scenario

#: The arrays a cached table stores (:func:`_write`); the rest of a :class:`Dimensioning` comes from the scenario.
STORED = ("levels", "tiers", "peak", "z")
#: Value of ``NETSLICE_CACHE_DIR`` that turns the cache off.
OFF = "off"


def cache_dir() -> Path | None:
    """The folder of the rule's tables (module docstring), or None when the cache is off."""
    root = os.environ.get("NETSLICE_CACHE_DIR")
    if root is not None:
        return None if root.strip().lower() in (OFF, "") else Path(root) / "rule"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "netslice" / "rule"


def _feed(h: Any, obj: Any) -> None:
    """Feed ``obj`` to the hash ``h`` canonically (arrays by dtype, shape and bytes; dataclasses field by field)."""
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"nd{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(type(obj).__qualname__.encode())
        for f in dataclasses.fields(obj):
            h.update(f.name.encode())
            _feed(h, getattr(obj, f.name))
    elif isinstance(obj, tuple | list):
        h.update(f"seq{len(obj)}".encode())
        for item in obj:
            _feed(h, item)
    elif isinstance(obj, dict):
        h.update(f"map{len(obj)}".encode())
        for key in sorted(obj, key=repr):
            _feed(h, key)
            _feed(h, obj[key])
    else:
        h.update(repr(obj).encode())


def key(scenario: Scenario, search: oracle.Oracle = SEARCH) -> str:
    """The cache key of ``scenario``'s table built with ``search`` (module docstring)."""
    h = hashlib.sha256()
    for module in (rule_table, oracle, model):
        h.update(Path(module.__file__ or "").read_bytes())
    _feed(h, scenario.name)
    _feed(h, search)
    _feed(h, scenario.params)
    return h.hexdigest()


def _read(path: Path, scenario: Scenario) -> Dimensioning | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = {name: np.array(data[name]) for name in STORED}
    except (OSError, ValueError, KeyError):
        return None
    p = scenario.params
    return Dimensioning(p.traffic, p.slot_s / 3600.0, stored["levels"], stored["tiers"], stored["peak"],
                        float(stored["z"]), p.edge.site_of_slice)  # fmt: skip


def _write(path: Path, table: Dimensioning) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, levels=table.levels, tiers=table.tiers, peak=table.peak, z=np.asarray(table.z))
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def cached_dimension(
    scenario: Scenario, build: Callable[[Scenario], Dimensioning] = dimension, search: oracle.Oracle = SEARCH
) -> Dimensioning:
    """``build(scenario)``, read from the cache when it holds the table, else built and stored (module docstring)."""
    folder = cache_dir()
    if folder is None:
        return build(scenario)
    path = folder / f"{key(scenario, search)}.npz"
    if path.exists():
        table = _read(path, scenario)
        if table is not None:
            return table
    table = build(scenario)
    _write(path, table)
    return table
