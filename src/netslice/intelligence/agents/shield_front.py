"""What the shields in front of decentralised agents share: :class:`ShieldFront`.

The per-slice and per-domain agents each decide part of a network's allocation; their shields
(:class:`~.slice_shield.SliceShield`, :class:`~.domain_shield.DomainShield`) assemble the parts, judge each network
whole with the centralised agent's :class:`~.shield.TrainingShield`, and hand its learning, metrics and state
through unchanged. This base class holds that plumbing once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.shield_config import ShieldConfig


class ShieldFront:
    """A network-level :class:`~.shield.TrainingShield` in front of agents that decide parts of each allocation.

    Args:
        shield: the network-level shield (built for the centralised layout of the envs' scenario).
        envs: the agents' training envs.
    """

    def __init__(self, shield: TrainingShield, envs: Any) -> None:
        self.shield = shield
        self.envs = envs

    @property
    def cfg(self) -> ShieldConfig:
        """The shield's settings."""
        return self.shield.cfg

    def learn(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        """:meth:`~.shield.TrainingShield.learn` on the networks as played (the rows the subclass records)."""
        return self.shield.learn(*args, **kwargs)

    def metrics(self) -> dict[str, float]:
        """The shield's ``shield/*`` metrics (a decision is one network's slot, as for the centralised agent)."""
        return self.shield.metrics()

    def state(self) -> dict[str, Any]:
        """The shield's :meth:`~.shield.TrainingShield.state`."""
        return self.shield.state()

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state`."""
        self.shield.load_state(state)
