"""Baseline switching for per-slice agents: the slice agents' columns judged together, as their network's allocation.

Per-slice agents (:class:`~netslice.intelligence.envs.slice_agents.SliceAgentsVectorEnv`) each decide one column of
a network's allocation. :class:`SliceShield` puts a :class:`~.shield.TrainingShield` (the centralised agent's:
the same evaluator, switch rule, pretraining and ``shield/*`` metrics) in front of them:

1. the live slices' columns of each network form its allocation ``(n, 7 K)`` (an empty slot's column is 0: the
   orchestrator gives it nothing); the shield judges it on the network's centralised observation
   (:meth:`~netslice.intelligence.envs.slice_agents.SliceAgentsVectorEnv.network_view`), only the live slices'
   predictions counting (``live`` of :meth:`~.shield.TrainingShield.filter`);
2. where it switches, the whole network plays the baseline's allocation: every live slice agent of that network
   plays its slice's column of the baseline's allocation (an empty slot has no column to switch);
3. the shield learns from every network as played (its allocation, each live slice's clipped cost and signed
   margin; empty slots read -1, "no SLA");
4. each slice agent's sample is judged by :func:`~.switched_samples.judge` at the network level, then handed to
   the slice's sub-env: its cost in its service kind's column (``cost_mask``), its network's ``in_loss``.

Why the whole network, not only the columns predicted to violate. The baseline's SLA safety is a property of its
whole allocation: the slices compete for capacity (the orchestrator scales an over-subscribed node's allocations
down proportionally) and the evaluator's inputs include each resource's total over the slices, so the baseline's
column next to the agents' columns is neither safe by construction nor what the evaluator judged. A network
switch plays exactly an allocation the baseline vouches for, which makes the safety while learning the baseline's
where the shield switches (tested: with the shield forced to switch, the slots played are the baseline's). The
per-slice switch would be cheaper in usage (the other slices keep their own columns) but has no such guarantee.

How switched samples are judged (``SafetyConfig.switched_samples``; :mod:`.switched_samples` has the table):

* ``keep`` (the default of ``SafetyConfig``): each slice agent of a switched network keeps its sample; it earns
  its slice's usage as played (the baseline's column) and is judged by the shield's switch statistic of *its own*
  column, clipped to [0, 1] (the per-slice evaluator scores each slice apart): the agent whose column was
  predicted to violate is charged a violation, the others in the network only the baseline's usage.
* ``own-usage``: as ``keep``, but each agent earns the usage reward of its own column
  (:func:`~.switched_samples.usage_reward_change` per slice; the slices' parts sum to the network's): the played
  usage of a switched network is no one agent's doing, and under ``keep`` an agent that over-allocates (pushing
  its neighbours towards a predicted violation, which switches the network) is paid the baseline's smaller column
  instead of its own.
* ``exclude``: every live slice agent of a switched network is left out of the policy loss.
* ``keep-played``: as ``keep``, the multipliers stepping on the violations as played.

Measured (metro-dynamic-v0, the per-slice benchmark's command plus ``--switching``, seed 0;
``benchmarks/README.md``): every mode cuts the live slice-slots violated while learning from 0.91 % to 0.13-0.19 %,
but no final agent alone beats the one trained without switching (0.0987 usage at 0.29 %): ``keep`` 0.294 at
0.64 %, ``own-usage`` 0.300 at 0.51 % (the shield's predicted violations of switched slots wind the multipliers
up), ``keep-played`` 0.185 at 1.05 %.

``corrected`` and ``estimated`` (the evaluator's expectation heads) are refused for per-slice agents
(:class:`~netslice.intelligence.run_config.RunConfig`): measured to fail for the centralised agent, they are not
carried over.

>>> import numpy as np
>>> from netslice.intelligence.envs.slice_agents import SliceAgentsVectorEnv
>>> from netslice.intelligence.run_config import RunConfig
>>> from netslice.intelligence.shielding import build_shield
>>> envs = SliceAgentsVectorEnv(2, "metro-v0", seed=0)
>>> _ = envs.reset(seed=0)
>>> shield = SliceShield(build_shield(RunConfig(scenario="metro-v0"), envs.orch.scenario, envs), envs)
>>> shield.shield.evaluator.predict = lambda o, a: (np.ones((len(o), 5)), np.zeros((len(o), 5)))  # always switch
>>> columns, switched = shield.filter(np.zeros((10, 40)), np.full((10, 7), 0.5))
>>> columns.shape, bool(switched.all())
((10, 7), True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.agents.safety_config import PER_SLICE_SWITCHED
from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.shield_data import live_margin
from netslice.intelligence.agents.shield_front import ShieldFront
from netslice.intelligence.agents.switched_samples import Judged, judge, usage_reward_change
from netslice.intelligence.policies.shared_slice import SharedSlicePolicy
from netslice.intelligence.policies.slice_switching import SliceSwitchingPolicy
from netslice.network.allocation import N_RESOURCES

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class SliceShield(ShieldFront):
    """A :class:`~.shield.TrainingShield` in front of per-slice agents (see the module docstring).

    Args:
        shield: the network-level shield (built for the centralised layout of the envs' scenario).
        envs: the per-slice envs (:class:`~netslice.intelligence.envs.slice_agents.SliceAgentsVectorEnv`: its
            ``network_view``, ``last_kpis``, ``n_networks`` and ``n_slices``).
    """

    def __init__(self, shield: TrainingShield, envs: Any) -> None:
        super().__init__(shield, envs)
        self.n, self.k = int(envs.n_networks), int(envs.n_slices)
        # The last filter's network-level slot: (obs, agents' allocation, played allocation, live, switched).
        self._slot: tuple[Any, FloatArray, FloatArray, BoolArray, BoolArray] | None = None

    def _flat(self, columns: FloatArray) -> FloatArray:
        """Slice columns ``(n K, 7)`` as the networks' flat resource-major allocations ``(n, 7 K)``."""
        return columns.reshape(self.n, self.k, N_RESOURCES).transpose(0, 2, 1).reshape(self.n, -1)

    def filter(self, obs: NDArray[np.floating], own: NDArray[np.floating]) -> tuple[FloatArray, BoolArray]:
        """``(played (n K, 7), switched (n K,))``: the baseline's columns for the live slices of switched networks.

        ``obs``: the agents' observations (unused: the shield judges the networks' centralised observations);
        ``own``: the agents' columns (shares). A network that is not switched plays ``own`` bit for bit.
        """
        del obs  # the agents' view; the shield sees each network whole
        cols = np.asarray(own, dtype=np.float64).reshape(self.n * self.k, N_RESOURCES)
        net_obs, live = self.envs.network_view()
        live_cols = np.repeat(live.reshape(-1), N_RESOURCES).reshape(cols.shape)
        agents = self._flat(np.where(live_cols, cols, 0.0))
        enforced, switched = self.shield.filter(net_obs, agents, live=live)
        base = enforced.reshape(self.n, N_RESOURCES, self.k).transpose(0, 2, 1).reshape(cols.shape)
        played = np.where(np.repeat(switched, self.k)[:, None], base, cols)
        self._slot = (net_obs, agents, self._flat(np.where(live_cols, played, 0.0)), live, switched)
        return played, np.repeat(switched, self.k) & live.reshape(-1)

    def _last(self) -> tuple[Any, FloatArray, FloatArray, BoolArray, BoolArray]:
        if self._slot is None:
            raise RuntimeError("SliceShield: no filter call before")
        return self._slot

    def _network_cost(self, info: Mapping[str, Any]) -> FloatArray:
        """``(n, K)`` each live slice's clipped SLA cost in the slot just played (0 in empty slots)."""
        return np.asarray(info["slice_cost"], dtype=np.float64).reshape(self.n, self.k)

    def record(self, info: Mapping[str, Any]) -> tuple[Any, ...]:
        """The slot just played as the shield learns it: ``(obs, played allocation, cost, margin, switched)``."""
        net_obs, _, played, live, switched = self._last()
        margin = None
        if self.cfg.target == "margin":
            margin = live_margin(self.shield.margin({"kpis": self.envs.last_kpis}), live)
        return np.asarray(net_obs), played, self._network_cost(info), margin, switched

    def judge(self, mode: str, info: Mapping[str, Any]) -> Judged:
        """How each slice agent's sample of the slot just played enters learning (module docstring), per sub-env.

        Raises:
            ValueError: a mode per-slice agents do not support.
        """
        if mode not in PER_SLICE_SWITCHED:
            raise ValueError(f"switched_samples: per-slice agents support {', '.join(map(repr, PER_SLICE_SWITCHED))}, "
                             f"got {mode!r}")  # fmt: skip
        _, agents, played, _, switched = self._last()
        net_mode = "keep" if mode == "own-usage" else mode  # the usage: per slice below, not per network
        net = judge(net_mode, self.shield, self.envs, self._network_cost(info), switched, agents, played)
        mask = np.asarray(info["cost_mask"], dtype=bool)  # (n K, kinds): the sub-env's live kind column
        change = None
        if mode == "own-usage":  # each agent's own column's usage reward instead of the baseline column's
            per_slice = np.zeros((self.n, self.k))
            if switched.any():
                per_slice[switched] = usage_reward_change(
                    self.envs, agents[switched], played[switched], switched, per_slice=True
                )  # fmt: skip
            change = np.where(mask.any(axis=1), per_slice.reshape(-1), 0.0)

        def spread(x: FloatArray) -> FloatArray:  # (n, K) per slice -> (n K, kinds), in the live kind column
            out: FloatArray = np.where(mask, np.asarray(x).reshape(-1)[:, None], 0.0)
            return out

        in_loss = None if net.in_loss is None else np.repeat(net.in_loss, self.k)
        rate = None if net.rate is None else spread(net.rate)
        return Judged(spread(net.violation), spread(net.cost), change, in_loss, rate)

    def switching_policy(self, agent: SharedSlicePolicy, name: str = "per-slice+switching") -> SliceSwitchingPolicy:
        """``agent`` on every slice behind this shield's evaluator, rule and baseline, as one policy (frozen)."""
        return SliceSwitchingPolicy(agent, self.shield.switching_policy(agent.actor, name=name), name)
