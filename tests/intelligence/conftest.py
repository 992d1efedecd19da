"""Fixtures of the intelligence-layer tests: small environments over testbed-v0."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
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


def _fixed_prediction(front: Any, mean: np.ndarray) -> None:
    """Make the evaluator of ``front.shield`` predict ``mean`` ``(n, K)`` with no uncertainty.

    A ``(1, K)`` mean is every row's (the shield also scores the whole rollout when it learns). The switch rule
    then fires where some mean is > 0.
    """

    def predict(obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = np.broadcast_to(mean, (len(obs), mean.shape[1])) if mean.shape[0] == 1 else mean
        return m.copy(), np.zeros(m.shape)

    front.shield.evaluator.predict = predict


@pytest.fixture
def fixed_prediction() -> Callable[[Any, np.ndarray], None]:
    """Sets the evaluator of a shield in front of decentralised agents to a fixed prediction (per-slice, per-domain)."""
    return _fixed_prediction
