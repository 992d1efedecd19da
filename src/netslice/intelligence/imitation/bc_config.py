"""Behaviour-cloning settings (:class:`BCConfig`); the cloning itself is :mod:`.bc`.

This module imports neither torch nor numpy (the command line reads it at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass

from netslice.errors import ConfigError
from netslice.intelligence.agents.safety_config import check_range


@dataclass(frozen=True)
class BCConfig:
    """Behaviour-cloning hyper-parameters.

    Attributes:
        epochs: passes over the training episodes (at least 1).
        batch_size: samples per Adam step (at least 1).
        learning_rate: Adam step size, in (0, 1].
        holdout: fraction of the episodes held out to score the clone, in [0, 1) (at least one episode when > 0).
        seed: seed of the network's initialisation, the hold-out split and the minibatch order.
        quantile: tau of the pinball loss on the action logits, in (0, 1): above 0.5 the clone errs on the side
            of larger allocations (see :mod:`.bc`).
    """

    epochs: int = 10
    batch_size: int = 256
    learning_rate: float = 1e-3
    holdout: float = 0.1
    seed: int = 0
    quantile: float = 0.9

    def __post_init__(self) -> None:
        check_range("epochs", self.epochs, 1.0)
        check_range("batch_size", self.batch_size, 1.0)
        if check_range("learning_rate", self.learning_rate, 0.0, 1.0) == 0.0:
            raise ConfigError(f"learning_rate: must be in (0, 1], got {self.learning_rate!r}")
        check_range("holdout", self.holdout, 0.0, 1.0, high_open=True)
        if check_range("quantile", self.quantile, 0.0, 1.0, high_open=True) == 0.0:
            raise ConfigError(f"quantile: must be in (0, 1), got {self.quantile!r}")
