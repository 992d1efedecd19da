"""Wire format of the agent API: the orchestrator's dataclasses as JSON and back, exactly.

Shared by the server (:mod:`netslice.orchestration.api.agent`) and the client
(:mod:`netslice.orchestration.api.client`); it imports neither FastAPI nor httpx.

Rules:

* Objects use the dataclass field names (``n_envs``, ``action_shape``, ``thp_dl_kbps``), so that
  :class:`~netslice.orchestration.agent_api.Spaces`, :class:`~netslice.orchestration.agent_api.Observation`,
  :class:`~netslice.orchestration.agent_api.StepResult` and :class:`~netslice.network.kernel.Kpis` map
  one to one.
* Arrays are nested JSON lists in C order. Floats are written with Python's ``repr`` (what :mod:`json` does),
  which round-trips every finite float64 exactly, so a remote agent sees bit-identical numbers.
* A non-finite float (never produced for KPIs, which are finite) is written as ``null`` and read back as NaN,
  so that the JSON stays valid; ``kpis`` is ``null`` right after a reset.
* Faults are ``{domain, kind, message, slot}`` objects.

>>> import json
>>> a = np.array([[0.1, 1 / 3], [2e-308, 1e300]])
>>> bool(np.array_equal(decode_array(json.loads(json.dumps(encode_array(a)))), a))
True
>>> encode_array(np.array([1.0, np.inf]))
[1.0, None]
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, get_args, get_origin, get_type_hints

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.network.kernel import Kpis
from netslice.orchestration.agent_api import Observation, Spaces, StepResult
from netslice.orchestration.enforcement import DomainFault

Json = dict[str, Any]

#: Every field of :class:`Kpis`, in declaration order (the API sends them all).
KPI_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Kpis))
#: Fields of :class:`DomainFault` as sent on the wire.
FAULT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(DomainFault))


def encode_array(a: NDArray[Any]) -> Any:
    """A numpy array as nested lists; non-finite floats become ``None`` (JSON ``null``)."""
    arr = np.asarray(a)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        out = arr.astype(object)
        out[~np.isfinite(arr)] = None
        return out.tolist()
    return arr.tolist()


def decode_array(value: Any, dtype: type[np.generic] = np.float64) -> NDArray[Any]:
    """Nested lists back to an array of ``dtype`` (``None`` becomes NaN for floats).

    Raises:
        ConfigError: the value is not a rectangular array of ``dtype``.
    """
    try:
        if dtype is np.float64:
            return np.array(value, dtype=np.float64)
        arr = np.array(value)
        if arr.size and arr.dtype.kind != np.dtype(dtype).kind:
            raise TypeError(f"expected {np.dtype(dtype).name} entries, got {arr.dtype.name}")
        return arr.astype(dtype)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"array: not a rectangular array of {np.dtype(dtype).name}: {err}") from None


def _field(data: Json, name: str, where: str) -> Any:
    if not isinstance(data, dict) or name not in data:
        raise ConfigError(f"{where}.{name}: missing from the server's response")
    return data[name]


# ---------------------------------------------------------------------------------------------- spaces


def encode_spaces(spaces: Spaces) -> Json:
    """:class:`Spaces` as a JSON object: every field, tuples as lists."""
    return {f.name: _plain(getattr(spaces, f.name)) for f in fields(Spaces)}


def decode_spaces(data: Json) -> Spaces:
    """The inverse of :func:`encode_spaces` (each field converted to its annotated type)."""
    hints = get_type_hints(Spaces)
    return Spaces(**{f.name: _typed(_field(data, f.name, "spaces"), hints[f.name], f.name) for f in fields(Spaces)})


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, tuple | list) else value


def _typed(value: Any, hint: Any, where: str) -> Any:
    """``value`` converted to ``hint`` (``int``, ``float``, ``str``, ``tuple[X, ...]`` or ``tuple[X, Y]``)."""
    if get_origin(hint) is tuple:
        args = get_args(hint)
        if not isinstance(value, list) or (args[-1] is not Ellipsis and len(value) != len(args)):
            raise ConfigError(f"spaces.{where}: expected a list for {hint}, got {value!r}")
        item_types = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        return tuple(_typed(v, t, where) for v, t in zip(value, item_types, strict=True))
    if hint in (int, float, str):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ConfigError(f"spaces.{where}: expected {hint.__name__}, got {value!r}")
        return hint(value)
    return value


# ---------------------------------------------------------------------------------------- KPIs, faults


def encode_kpis(kpis: Kpis | None) -> Json | None:
    """Every :class:`Kpis` field as a nested list, or ``None``."""
    if kpis is None:
        return None
    return {name: encode_array(getattr(kpis, name)) for name in KPI_FIELDS}


def decode_kpis(data: Json | None) -> Kpis | None:
    """The inverse of :func:`encode_kpis`."""
    if data is None:
        return None
    return Kpis(**{name: decode_array(_field(data, name, "kpis")) for name in KPI_FIELDS})


def encode_fault(fault: DomainFault) -> Json:
    """A :class:`DomainFault` as ``{domain, kind, message, slot}``."""
    return {"domain": fault.domain, "kind": fault.kind, "message": fault.message, "slot": fault.slot}


def decode_fault(data: Json) -> DomainFault:
    """The inverse of :func:`encode_fault`."""
    return DomainFault(
        domain=str(_field(data, "domain", "fault")),
        kind=str(_field(data, "kind", "fault")),
        message=str(_field(data, "message", "fault")),
        slot=int(_field(data, "slot", "fault")),
    )


# ----------------------------------------------------------------------------------- observation, step


def encode_observation(obs: Observation) -> Json:
    """:class:`Observation` as a JSON object (``kpis`` is ``null`` right after a reset)."""
    return {
        "slot": obs.slot,
        "hour": encode_array(obs.hour),
        "episode_slot": encode_array(obs.episode_slot),
        "active": encode_array(obs.active),
        "allocation": encode_array(obs.allocation),
        "kpis": encode_kpis(obs.kpis),
        "cost": encode_array(obs.cost),
        "faults": [encode_fault(f) for f in obs.faults],
    }


def decode_observation(data: Json) -> Observation:
    """The inverse of :func:`encode_observation`."""
    return Observation(
        slot=int(_field(data, "slot", "observation")),
        hour=decode_array(_field(data, "hour", "observation")),
        episode_slot=decode_array(_field(data, "episode_slot", "observation"), np.int64),
        active=decode_array(_field(data, "active", "observation"), np.bool_),
        allocation=decode_array(_field(data, "allocation", "observation")),
        kpis=decode_kpis(_field(data, "kpis", "observation")),
        cost=decode_array(_field(data, "cost", "observation")),
        faults=tuple(decode_fault(f) for f in _field(data, "faults", "observation")),
    )


def encode_step_result(result: StepResult) -> Json:
    """:class:`StepResult` as a JSON object (the observation carries the same KPIs again)."""
    return {
        "cost": encode_array(result.cost),
        "usage": encode_array(result.usage),
        "modified": encode_array(result.modified),
        "faults": [encode_fault(f) for f in result.faults],
        "kpis": encode_kpis(result.kpis),
        "observation": encode_observation(result.observation),
    }


def decode_step_result(data: Json) -> StepResult:
    """The inverse of :func:`encode_step_result`."""
    kpis = decode_kpis(_field(data, "kpis", "step"))
    if kpis is None:
        raise ConfigError("step.kpis: a slot result must carry KPIs")
    return StepResult(
        observation=decode_observation(_field(data, "observation", "step")),
        kpis=kpis,
        cost=decode_array(_field(data, "cost", "step")),
        usage=decode_array(_field(data, "usage", "step")),
        modified=decode_array(_field(data, "modified", "step"), np.bool_),
        faults=tuple(decode_fault(f) for f in _field(data, "faults", "step")),
    )


# ---------------------------------------------------------------------------------------------- errors


def error_body(status: int, type_: str, message: str) -> Json:
    """The one error shape of the API: ``{"error": {"status", "type", "message"}}``."""
    return {"error": {"status": status, "type": type_, "message": message}}
