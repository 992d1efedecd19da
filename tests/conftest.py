"""Shared fixtures: the default scenario, loaded once, and a fresh copy of its YAML content.

The rule's table cache (:mod:`netslice.intelligence.policies.rule_cache`) points at a folder of the test session
(and of every process it starts): the suite neither reads a user's cached tables nor writes into their cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from hypothesis import settings

from netslice.network import scenarios
from netslice.network.scenarios import Scenario

TESTBED = "testbed-v0"

# Property tests draw the same examples on every run (CI must not be flaky); HYPOTHESIS_PROFILE=explore draws
# new ones each run, to hunt for counterexamples locally.
settings.register_profile("netslice", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "netslice"))


@pytest.fixture(scope="session", autouse=True)
def _rule_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("NETSLICE_CACHE_DIR")
    os.environ["NETSLICE_CACHE_DIR"] = str(tmp_path_factory.mktemp("netslice-cache"))
    yield
    if previous is None:
        os.environ.pop("NETSLICE_CACHE_DIR", None)
    else:
        os.environ["NETSLICE_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def testbed() -> Scenario:
    """The testbed-v0 scenario (spec and simulator parameters); treat it as read-only."""
    return scenarios.load(TESTBED)


@pytest.fixture
def testbed_dict() -> dict[str, Any]:
    """A fresh, mutable copy of testbed-v0.yaml as plain data (for building invalid variants)."""
    data = yaml.safe_load((scenarios.SCENARIO_DIR / f"{TESTBED}.yaml").read_text())
    assert isinstance(data, dict)
    return data


#: PPOConfig fields added after docs/results/testbed-v0-ppo-s0 was trained, at the values that change nothing.
ADDED_SINCE_REFERENCE: dict[str, Any] = {"final_log_std": None}


@pytest.fixture
def same_as_reference_config() -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """Assert that a PPO config equals the committed reference's, fields added since at their neutral values."""

    def check(config: dict[str, Any], reference: dict[str, Any]) -> None:
        assert {k: v for k, v in config.items() if k not in reference} == ADDED_SINCE_REFERENCE
        assert {k: v for k, v in config.items() if k in reference} == reference

    return check
