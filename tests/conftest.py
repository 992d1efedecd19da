"""Shared fixtures: the default scenario, loaded once, and a fresh copy of its YAML content."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from netslice.network import scenarios
from netslice.network.scenarios import Scenario

TESTBED = "testbed-v0"


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
