"""The configuration of a training run (:class:`RunConfig`): what ``netslice train`` trains and evaluates.

Each default is defined once, in :class:`RunConfig` (the run),
:class:`~netslice.intelligence.agents.ppo_config.PPOConfig` (the learner) or
:class:`~netslice.intelligence.agents.safety_config.SafetyConfig` (the constraints); the command line derives its
options from these fields. A run writes its configuration to ``RUN_DIR/run_config.json`` (and into its
checkpoint), so that ``netslice train --config RUN_DIR/run_config.json`` reproduces it from its folder alone.

The JSON record is :meth:`RunConfig.record`: the run fields, ``"ppo"`` with the PPO fields, ``"safety"`` with the
safety fields, ``"shield"`` with the shield's (:class:`~netslice.intelligence.agents.shield_config.ShieldConfig`;
on the command line and in :meth:`RunConfig.overridden` they are prefixed ``shield_``), ``"warm"`` with the warm
start's (:class:`~netslice.intelligence.agents.warm_config.WarmStartConfig`, prefixed ``warm_``), and ``"netslice"``,
the version that wrote it (information only: it is not compared and not applied). A file may leave keys out
(they keep their defaults); a key that is not a field is an error naming it.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import tempfile
import types
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import netslice
from netslice.errors import ConfigError
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.agents.safety_config import PER_SLICE_SWITCHED, SafetyConfig
from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.agents.warm_config import WarmStartConfig
from netslice.intelligence.decomposition import METHODS as DECOMPOSITIONS
from netslice.intelligence.decomposition_budgets import SHARES
from netslice.orchestration.objective import DEFAULT_WEIGHTS, Objective

#: File name of the configuration in a run folder.
RUN_CONFIG_FILE = "run_config.json"
#: Learning algorithms ``netslice train`` has.
ALGOS = ("ppo",)
#: Who decides the allocation: one centralised agent, one agent per slice sharing one policy, or one agent per
#: domain group (the paper's Fig. 4(c)).
AGENTS = ("central", "per-slice", "per-domain")
#: Smallest value of the count fields (run, PPO and safety fields), checked by the configs and the command line.
MINIMUM: dict[str, int] = {
    "n_envs": 1, "eval_days": 1, "eval_envs": 1, "total_steps": 1, "lambda_every": 1, "workers": 0,
}  # fmt: skip
#: The sub-configurations of a run: field of :class:`RunConfig` -> their class.
SUBCONFIGS: dict[str, type] = {
    "ppo": PPOConfig, "safety": SafetyConfig, "shield": ShieldConfig, "warm": WarmStartConfig,
}  # fmt: skip
#: Prefix of a sub-configuration's fields in the flat namespace (options, :meth:`RunConfig.overridden`): the
#: shield's ``seed`` is ``shield_seed`` (``--shield-seed``), apart from PPO's ``seed``.
PREFIXES: dict[str, str] = {"ppo": "", "safety": "", "shield": "shield_", "warm": "warm_"}
#: Keys of a record that are information, not configuration (neither compared nor applied).
INFO_KEYS = ("netslice",)


@dataclass(frozen=True)
class RunConfig:
    """What a training run trains and evaluates (the run directory and progress output are not part of it).

    Attributes:
        scenario: scenario name or YAML path.
        algo: learning algorithm (only ``"ppo"``).
        agents: ``"central"`` (one agent allocates every slice) or ``"per-slice"`` (one policy shared by every slice
            agent, each deciding its own slice's column; see netslice.intelligence.envs.slice_agents) or
            ``"per-domain"`` (three Lagrangian PPO learners, one per domain group, each held to its share of every
            slice's SLA; see netslice.intelligence.agents.domain_agents).
        decomposition: with per-domain agents, how each slice's latency budget is split between the groups:
            ``"adaptive"`` (rebalanced every slot from the observed group latencies) or ``"fixed"`` (the nominal
            split; see netslice.intelligence.decomposition).
        domain_shares: with per-domain agents, the nominal split: ``"design"`` (each domain's latency at the
            slice's design point) or ``"equal"`` (each domain a quarter).
        n_envs: networks simulated side by side in training.
        weights: domain weights (ran, tn, cn, edge) of the usage objective, in training, evaluation and the
            oracle's search (normalised to sum to 1; see netslice.orchestration.objective).
        eval_days: days of evaluation per policy.
        eval_envs: networks in the evaluation (seeded with 1000 + the PPO seed).
        workers: rollout workers (Ray actors, each playing n_envs / workers of the networks) feeding the learner;
            0: every network in this process, without Ray (see netslice.intelligence.agents.distributed).
        ppo: the learner's hyper-parameters; its ``seed`` also seeds the training networks.
        safety: the constraint handling in training (default: none, the fixed cost penalty only).
        shield: the evaluator and switch rule of baseline switching (used with ``safety.switching``).
        warm: the actor PPO starts from (a clone or a pre-trained run) and the critics' warm-up (default: none).
    """

    scenario: str = "testbed-v0"
    algo: str = "ppo"
    agents: str = "central"
    decomposition: str = "adaptive"
    domain_shares: str = "design"
    n_envs: int = 128
    weights: tuple[float, ...] = DEFAULT_WEIGHTS
    eval_days: int = 5
    eval_envs: int = 16
    workers: int = 0
    ppo: PPOConfig = field(default_factory=PPOConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    shield: ShieldConfig = field(default_factory=ShieldConfig)
    warm: WarmStartConfig = field(default_factory=WarmStartConfig)

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ConfigError(f"algo: only {', '.join(map(repr, ALGOS))} is available, got {self.algo!r}")
        if self.agents not in AGENTS:
            raise ConfigError(f"agents: must be one of {', '.join(map(repr, AGENTS))}, got {self.agents!r}")
        Objective.create(self.weights)  # raises a ConfigError naming weights and the rule
        for name, least in MINIMUM.items():
            value = self.value(name)
            if value < least:
                raise ConfigError(f"{name}: must be at least {least}, got {value!r}")
        if self.workers and self.n_envs % self.workers:
            raise ConfigError(f"n_envs: must be a multiple of workers ({self.workers}), each worker plays an equal "
                              f"share of the networks; got {self.n_envs}")  # fmt: skip
        if self.workers and self.safety.switching:
            raise ConfigError(
                "workers: rollout workers (--workers) do not support baseline switching (--switching): the training "
                "shield filters every action with an evaluator that learns from every slot in the learner's process; "
                "use one of the two (--workers 0, or --no-switching)"
            )

        if self.ppo.day_history and (self.workers or self.agents != "central"):
            raise ConfigError(
                "day_history: the day-history features are kept by the centralised agent's collector in this process; "
                f"use --agents central --workers 0 with them, got --agents {self.agents} --workers {self.workers}"
            )
        if self.agents == "per-slice":
            self._check_per_slice()
        self._check_decomposition()

    def _check_per_slice(self) -> None:
        """Refuse what per-slice agents do not support (each message names the field and what to use)."""
        if self.safety.switching and self.safety.switched_samples not in PER_SLICE_SWITCHED:
            raise ConfigError(
                f"switched_samples: per-slice agents support {', '.join(map(repr, PER_SLICE_SWITCHED))} with "
                f"--switching (see netslice.intelligence.agents.slice_shield), got {self.safety.switched_samples!r}"
            )
        if self.safety.switching and self.shield.baseline != "rule":
            raise ConfigError(
                f"shield_baseline: per-slice agents' shield switches to the rule-based policy only (a planner would "
                f"plan for every slot of a dynamic network, live or not), got {self.shield.baseline!r}"
            )
        if self.safety.switching and self.warm.enabled:
            raise ConfigError(
                "warm: per-slice agents with --switching pretrain their shield around the baseline; a warm start "
                "is not supported with them (drop --warm-*, or --no-switching)"
            )
        if self.workers:
            raise ConfigError(
                "agents: per-slice agents train in this process only (--workers 0): the rollout workers play the "
                "centralised env; use --agents central with --workers"
            )

    def _check_decomposition(self) -> None:
        """Check the SLA decomposition's fields, and refuse what per-domain agents do not support."""
        choices = (("decomposition", DECOMPOSITIONS, "adaptive"), ("domain_shares", SHARES, "design"))
        for name, allowed, default in choices:
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"{name}: must be one of {', '.join(map(repr, allowed))}, got {value!r}")
            if self.agents != "per-domain" and value != default:
                raise ConfigError(f"{name}: only per-domain agents decompose the SLA (--agents per-domain), got "
                                  f"{value!r} with --agents {self.agents}")  # fmt: skip
        if self.agents != "per-domain":
            return
        if self.safety.switching and self.safety.switched_samples != "keep":
            raise ConfigError(
                "switched_samples: per-domain agents support 'keep' with --switching (each group charged by the "
                f"shield's prediction for its own rows; see netslice.intelligence.agents.domain_shield), got "
                f"{self.safety.switched_samples!r}"
            )
        if self.workers:
            raise ConfigError(
                "agents: per-domain agents train in this process only (--workers 0): the rollout workers play the "
                "centralised env; use --agents central with --workers"
            )
        if self.warm.enabled:
            raise ConfigError(
                "agents: per-domain agents start from fresh actors (no --warm-actor): a warm start loads one "
                "centralised actor, not three group actors; use --agents central with --warm-actor"
            )

    def owner(self, name: str) -> Any:
        """The (sub-)configuration that holds the flat field ``name``: ``self`` or one of :data:`SUBCONFIGS`."""
        sub = SUBCONFIG_OF.get(name)
        return self if sub is None else getattr(self, sub)

    def value(self, name: str) -> Any:
        """The value of the flat field ``name`` (e.g. ``"seed"``, ``"method"``, ``"shield_seed"``)."""
        return getattr(self.owner(name), bare(name))

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON data (tuples as lists), without the ``"netslice"`` version."""
        data: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        return data

    def record(self) -> dict[str, Any]:
        """What ``run_config.json`` and the checkpoint hold: :meth:`to_dict` and the netslice version."""
        return {"netslice": netslice.__version__, **self.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "run config") -> RunConfig:
        """The configuration a record (or part of one) describes; keys left out keep their defaults.

        Args:
            data: run fields, one dict per sub-configuration (``"ppo"``, ``"safety"``, ...: their own
                field names, without prefix) and optionally ``"netslice"`` (ignored).
            source: what ``data`` came from, at the start of error messages (e.g. the file name).

        Raises:
            ConfigError: a key that is not a field (named), or a value of the wrong type or range.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: must be a JSON object, got {type(data).__name__}")
        subs = {name: data.get(name, {}) for name in SUBCONFIGS}
        for name, sub in subs.items():
            if not isinstance(sub, dict):
                raise ConfigError(
                    f"{source}: {name} must be an object of {SUBCONFIGS[name].__name__} fields, got {sub!r}"
                )
            known = [f.name for f in fields(SUBCONFIGS[name])]
            unknown = [k for k in sub if k not in known]
            if unknown:
                raise ConfigError(
                    f"{source}: unknown key {', '.join(repr(f'{name}.{k}') for k in unknown)} ({name} holds "
                    f"{', '.join(known)})"
                )
        run = {k: v for k, v in data.items() if k not in (*INFO_KEYS, *SUBCONFIGS)}
        flat = {f"{PREFIXES[name]}{k}": v for name, sub in subs.items() for k, v in sub.items()}
        return cls().overridden({**run, **flat}, source)

    def overridden(self, values: dict[str, Any], source: str = "run config") -> RunConfig:
        """A copy with ``values`` (flat names: run, PPO, safety, ``shield_``- and ``warm_``-prefixed fields) applied.

        Raises:
            ConfigError: an unknown key (named, with the known ones), or a value of the wrong type or range.
        """
        unknown = [key for key in values if key not in FIELDS]
        if unknown:
            held = ", ".join(f"{name} holding {', '.join(_flat_fields(name))}" for name in SUBCONFIGS)
            raise ConfigError(f"{source}: unknown key {', '.join(map(repr, unknown))} (known: {', '.join(RUN_FIELDS)}, "
                              f"{held})")  # fmt: skip
        checked = {key: coerce(f"{source}: {key}", FIELDS[key], value) for key, value in values.items()}
        try:
            mine = {n: {bare(k): v for k, v in checked.items() if SUBCONFIG_OF.get(k) == n} for n in SUBCONFIGS}
            subs = {name: replace(getattr(self, name), **mine[name]) for name in SUBCONFIGS}
            run = {k: v for k, v in checked.items() if k in RUN_FIELDS}
            return replace(self, **subs, **run)
        except ConfigError as err:  # a value out of range (checked by __post_init__)
            raise ConfigError(f"{source}: {err}") from None

    def save(self, run_dir: str | Path) -> Path:
        """Write :meth:`record` to ``run_dir/run_config.json`` atomically; return the path."""
        path = Path(run_dir) / RUN_CONFIG_FILE
        write_json_atomic(path, self.record())
        return path

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        """Read a ``run_config.json`` (or the one in run folder ``path``).

        Raises:
            ConfigError: the file is missing, not JSON, or not a valid record (see :meth:`from_dict`).
        """
        path = Path(path)
        if path.is_dir():
            path = path / RUN_CONFIG_FILE
        try:
            data = json.loads(path.read_text())
        except OSError as err:
            raise ConfigError(f"config {str(path)!r}: cannot be read ({err.strerror or err})") from None
        except ValueError as err:
            raise ConfigError(f"config {str(path)!r}: not valid JSON ({err})") from None
        return cls.from_dict(data, f"config {str(path)!r}")


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON to ``path`` atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def coerce(name: str, kind: Any, value: Any) -> Any:
    """``value`` checked against the field type ``kind`` (ints accepted for floats, lists for tuples).

    Raises:
        ConfigError: ``value`` does not have the type (the message starts with ``name``).
    """
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        try:
            return coerce(name, inner, value)
        except ConfigError:
            raise ConfigError(f"{name}: must be {describe(kind)}, got {value!r}") from None
    if origin is tuple:
        if isinstance(value, list | tuple):
            return tuple(coerce(f"{name}[{i}]", args[0], v) for i, v in enumerate(value))
    elif origin is Literal:
        if value in args:
            return value
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{name}: must be {describe(kind)}, got {value!r}")


def describe(kind: Any) -> str:
    """A field type in words, for error messages (``"an int"``, ``"a list of int"``, ``"a float or null"``)."""
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else describe(a) for a in args)
    if origin is tuple:
        return f"a list of {args[0].__name__}"
    if origin is Literal:
        return "one of " + ", ".join(map(repr, args))
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(kind, str(kind))


def attribute_docs(cls: type) -> dict[str, str]:
    """The ``Attributes:`` section of a class's Google-style docstring: field name -> text (one line)."""
    lines = (inspect.getdoc(cls) or "").splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.strip() == "Attributes:"), len(lines))
    docs: dict[str, str] = {}
    name = None
    for line in lines[start:]:
        entry = re.match(r"^ {4}(\w+): (.*)$", line)
        if entry:
            name, docs[entry[1]] = entry[1], entry[2]
        elif name is not None and line.startswith(" " * 5):
            docs[name] += " " + line.strip()
        else:
            break
    return docs


def _flat_fields(name: str) -> dict[str, Any]:
    cls = SUBCONFIGS[name]
    return {f"{PREFIXES[name]}{f.name}": get_type_hints(cls)[f.name] for f in fields(cls)}


#: PPO field name -> type (at run time: see :mod:`~netslice.intelligence.agents.ppo_config`).
PPO_FIELDS: dict[str, Any] = _flat_fields("ppo")
#: Safety field name -> type.
SAFETY_FIELDS: dict[str, Any] = _flat_fields("safety")
#: Shield field name, prefixed ``shield_`` -> type.
SHIELD_FIELDS: dict[str, Any] = _flat_fields("shield")
#: Flat name of a sub-configuration's field -> that sub-configuration's field of :class:`RunConfig`.
SUBCONFIG_OF: dict[str, str] = {key: name for name in SUBCONFIGS for key in _flat_fields(name)}


def bare(name: str) -> str:
    """The sub-configuration's own name of the flat field ``name`` (its prefix removed)."""
    sub = SUBCONFIG_OF.get(name)
    prefix = PREFIXES[sub] if sub is not None else ""
    return name[len(prefix) :]


#: Run field name (the sub-configurations left out) -> type.
RUN_FIELDS: dict[str, Any] = {
    f.name: get_type_hints(RunConfig)[f.name] for f in fields(RunConfig) if f.name not in SUBCONFIGS
}
#: Every configurable field, of the run and of each sub-configuration (one flat namespace: the names do not
#: overlap) -> type.
FIELDS: dict[str, Any] = RUN_FIELDS | {key: kind for name in SUBCONFIGS for key, kind in _flat_fields(name).items()}
assert len(FIELDS) == len(RUN_FIELDS) + len(SUBCONFIG_OF), "the run's and the sub-configurations' names overlap"
