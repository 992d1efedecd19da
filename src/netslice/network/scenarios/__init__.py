"""Scenario registry: versioned YAML files validated by :mod:`.schema`, built by :mod:`.builder`.

Each YAML file in this folder is a scenario; its ``description`` is the scenario's card (slices,
domains, shapes, episode length, version history). ``load("testbed-v0")`` returns a
:class:`Scenario`; a path to a YAML file works too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from netslice.errors import ConfigError, UnknownScenarioError
from netslice.network.kernel import SimParams
from netslice.network.scenarios.builder import build_params
from netslice.network.scenarios.schema import ScenarioSpec

SCENARIO_DIR = Path(__file__).parent
DEFAULT_SCENARIO = "testbed-v0"


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario: the validated spec (with SLAs and names) and the simulator parameters.

    Attributes:
        spec: the validated YAML content.
        params: simulator parameters built from it.
    """

    spec: ScenarioSpec
    params: SimParams

    @property
    def name(self) -> str:
        """Scenario name with version suffix."""
        return self.spec.name


def available() -> list[str]:
    """Names of the registered scenarios."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def format_validation_error(err: ValidationError) -> str:
    """One line per problem: ``field.path: message``."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "scenario"
        lines.append(f"{loc}: {e['msg']}")
    return "; ".join(lines)


def parse(data: object, source: str = "<dict>") -> ScenarioSpec:
    """Validate raw YAML data into a :class:`ScenarioSpec`.

    Raises:
        ConfigError: a message naming every invalid field and its rule.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a scenario must be a YAML mapping, got {type(data).__name__}")
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{source}: {format_validation_error(err)}") from None


def from_yaml_text(text: str, source: str = "<yaml>") -> Scenario:
    """Build a scenario from YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({err})") from None
    spec = parse(data, source)
    return Scenario(spec=spec, params=build_params(spec))


@lru_cache(maxsize=16)
def _load_file(path: Path) -> Scenario:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"scenario file {str(path)!r}: cannot be read ({err}); give a readable YAML file") from None
    return from_yaml_text(text, str(path))


def looks_like_path(name_or_path: str | Path) -> bool:
    """Whether a scenario argument is meant as a file: it has a folder separator or a .yaml/.yml suffix."""
    text = str(name_or_path)
    return "/" in text or "\\" in text or text.endswith((".yaml", ".yml"))


def load(name_or_path: str | Path = DEFAULT_SCENARIO) -> Scenario:
    """Load a registered scenario by name, or a YAML file by path (results are cached).

    Raises:
        UnknownScenarioError: a path-looking argument (see :func:`looks_like_path`) names no file
            ("not found"), or a plain name is not registered (the message lists the registered ones).
        ConfigError: the file is invalid or unreadable.
    """
    path = Path(name_or_path)
    if looks_like_path(name_or_path):
        if path.is_file():
            return _load_file(path.resolve())
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise UnknownScenarioError(
            f"scenario file {str(name_or_path)!r}: {what} (looked at {path.resolve()}); give the path of an "
            f"existing YAML file, or a registered name: {', '.join(available())}"
        )
    registered = SCENARIO_DIR / f"{name_or_path}.yaml"
    if registered.exists():
        return _load_file(registered)
    raise UnknownScenarioError(f"scenario {str(name_or_path)!r}: unknown; registered: {', '.join(available())}")


def with_arrivals(scenario: Scenario, **changes: object) -> Scenario:
    """``scenario`` with fields of its ``arrivals`` section changed (e.g. ``max_concurrent=8``), validated.

    The network is the same (the same :class:`SimParams`); only the slice request process differs.

    Raises:
        ConfigError: the scenario has no ``arrivals`` section, or a changed field is invalid.
    """
    if scenario.spec.arrivals is None:
        raise ConfigError(f"scenario {scenario.name}: has no arrivals section (slices do not come and go)")
    data = scenario.spec.model_dump(mode="json")
    data["arrivals"].update(changes)
    return Scenario(spec=parse(data, f"{scenario.name} with arrivals {changes}"), params=scenario.params)


__all__ = [
    "DEFAULT_SCENARIO",
    "Scenario",
    "available",
    "from_yaml_text",
    "load",
    "looks_like_path",
    "parse",
    "with_arrivals",
]
