"""The coming slot's traffic forecast of every slice slot: what the forecast planner knows, as slice-agent features.

The forecast planner (:mod:`~netslice.intelligence.policies.forecast`) filters the day factor and the AR(1)
noise of each slice's traffic out of every slot measured so far (:class:`~.forecast.TrafficFilter`, exact for
the scenario's traffic model) and plans for a quantile of the coming slot's load. A slice agent that sees one
slot's load and the hour cannot tell the day factor from the noise, nor the diurnal profile's next step from
either. :class:`SliceForecast` runs the same filter on the orchestrator's observations (causal: the measured
active UEs only) and gives each slot four features of the coming slot, appended to the agent's observation
(:mod:`.slice_features`, indices 40-43):

===============  ==============================================================================  ========
``fc_load``      the forecast's median load (burst-free) / the slice's traffic scale             [0, 5]
``fc_high``      its ``quantile`` load (bursts included; the planner's default 0.995) / scale     [0, 10]
``fc_sd``        predictive standard deviation of the log-load                                    [0, 3]
``fc_burst``     predictive probability that the slot is in an MMPP burst (0 without bursts)      [0, 1]
===============  ==============================================================================  ========

A network starting an episode, and a slot with a new tenant (``restart``: no state of a departed slice reaches
the next one), start from the traffic model's prior; a slot without a slice measures nothing (0 active UEs sit
below the traffic's lower clip) and its forecast runs on without measurements.

>>> import numpy as np
>>> from netslice.orchestration.orchestrator import Orchestrator
>>> orch = Orchestrator.create("metro-dynamic-v0", n_envs=2, seed=0)
>>> fc = SliceForecast()
>>> fc.observe(orch.observation(), orch.scenario.params.traffic).shape
(2, 10, 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.policies.forecast import DEFAULT_QUANTILE, TrafficFilter
from netslice.network.traffic import TrafficParams, profile_load
from netslice.orchestration.agent_api import Observation

FloatArray = NDArray[np.float64]

#: Forecast features of one slice (module table), in order.
FORECAST_FEATURES: tuple[str, ...] = ("fc_load", "fc_high", "fc_sd", "fc_burst")
N_FORECAST_FEATURES = len(FORECAST_FEATURES)
FORECAST_LOW = np.zeros(N_FORECAST_FEATURES)
FORECAST_HIGH = np.array([5.0, 10.0, 3.0, 1.0])


@dataclass
class SliceForecast:
    """The traffic filter of every (network, slot) and the features of the coming slot (module docstring).

    Attributes:
        quantile: the quantile of ``fc_high``.
        filter: the filter (made on the first :meth:`observe`, and again when the number of networks or slots
            changes).
    """

    quantile: float = DEFAULT_QUANTILE
    filter: TrafficFilter | None = None

    def reset(self) -> None:
        """Forget every network's filter (the next observation starts from the prior)."""
        self.filter = None

    def observe(self, obs: Observation, params: TrafficParams, restart: NDArray[np.bool_] | None = None) -> FloatArray:
        """Condition on ``obs`` and return the coming slot's features ``(n_envs, K, 4)`` (module table).

        Args:
            obs: the orchestrator's observation (its ``kpis`` the slot just run; None after a full reset).
            params: the scenario's traffic model.
            restart: ``(K,)`` or ``(n_envs, K)`` slots to start from the prior (a new tenant).
        """
        n_envs = int(np.asarray(obs.hour).shape[0])
        if self.filter is None or self.filter.m_l.shape != (n_envs, params.n_slices):
            self.filter = TrafficFilter.create(params, n_envs)
        again = None if restart is None else np.broadcast_to(np.asarray(restart, dtype=bool), self.filter.m_l.shape)
        self.filter.observe(obs, again)
        return self.features(obs.hour)

    def features(self, hour: FloatArray) -> FloatArray:
        """The features ``(n_envs, K, 4)`` of the filter's coming slot at ``hour`` ``(n_envs,)`` (no update)."""
        f = self.filter
        if f is None:
            raise ValueError("SliceForecast.features: observe() first")
        p = f.params
        scale = np.maximum(np.asarray(p.scale, dtype=np.float64), 1e-12)
        mean, sd = f.log_moments()
        median = np.maximum(profile_load(p, hour) * np.exp(mean), p.min_fraction * p.scale)
        out = np.stack([median / scale, f.quantile(hour, self.quantile) / scale, sd, f.p_burst], axis=-1)
        clipped: FloatArray = np.clip(np.nan_to_num(out, nan=0.0), FORECAST_LOW, FORECAST_HIGH)
        return clipped

    def state(self) -> dict[str, Any]:
        """The filter's arrays ({} before the first observation), for an exact resume."""
        return {} if self.filter is None else self.filter.state()

    def load_state(self, state: dict[str, Any], params: TrafficParams) -> None:
        """Continue from :meth:`state` with the traffic model ``params``."""
        self.filter = TrafficFilter.from_state(params, state)
