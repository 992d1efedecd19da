"""Fixtures of the intelligence-layer tests: small environments over testbed-v0."""

from __future__ import annotations

import pytest

from netslice.intelligence.envs.features import Encoder
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.network.scenarios import Scenario


@pytest.fixture
def venv4() -> SliceVectorEnv:
    """A vector env of 4 testbed-v0 networks, not reset yet."""
    return SliceVectorEnv(4, "testbed-v0", seed=0)


@pytest.fixture(scope="session")
def encoder(testbed: Scenario) -> Encoder:
    """The default encoder of testbed-v0."""
    return Encoder.from_scenario(testbed)
