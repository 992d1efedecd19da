"""Baseline switching for per-domain agents: the three groups' rows judged together, as their network's allocation.

The per-domain agents (:mod:`.domain_agents`) each decide their group's rows of a network's allocation
(:data:`~netslice.intelligence.envs.domain_features.GROUP_ROWS`). :class:`DomainShield` puts a
:class:`~.shield.TrainingShield` (the centralised agent's: the same evaluator, switch rule, baseline, offline
pretraining and ``shield/*`` metrics) in front of them:

1. the groups' rows form each network's allocation ``(n, 7 K)``; the shield judges it on the network's centralised
   observation (:meth:`~netslice.intelligence.envs.domain_vector.DomainVectorEnv.network_view`);
2. where it switches, the whole network plays the baseline's allocation: every group plays its rows of it (the
   baseline's SLA safety is a property of its whole allocation, as for the per-slice agents'
   :class:`~.slice_shield.SliceShield`);
3. the shield learns from every network as played (the allocation, each slice's end-to-end clipped cost and
   signed margin);
4. each group's sample is judged (:meth:`DomainShield.judge`, the ``keep`` mode of :mod:`.switched_samples`): it
   stays in the group's policy loss and earns its domains' usage as played; in a network that was not switched,
   its local SLA cost is as played; in a switched one, it is charged by the shield's prediction for *its own
   rows*.

Which group is charged in a switched network. The shield predicts each slice's end-to-end SLA, which no group owns.
For each group ``g`` the evaluator also judges the counterfactual allocation in which only ``g`` deviates from the
baseline (``g``'s rows, the baseline's elsewhere). Per slice predicted to violate (the joint statistic > 0):

* the groups whose rows alone are predicted to violate it are charged their own statistic, clipped to [0, 1];
* if no group's rows alone are, only their combination is, so every group is charged the joint statistic;
* a slice not predicted to violate charges no one.

So a group is charged for a switch it caused, never for another group's rows; and being switched always costs
some group, which keeps the agents inside the shield's safe set (the lesson of :mod:`.switched_samples`: a mode
where a switch costs nothing is measured to drift into the switched region). Only ``keep`` is offered for
per-domain agents (:class:`~netslice.intelligence.run_config.RunConfig` refuses the others).

>>> import numpy as np
>>> from netslice.intelligence.envs.domain_vector import DomainVectorEnv
>>> from netslice.intelligence.run_config import RunConfig
>>> from netslice.intelligence.shielding import build_shield
>>> envs = DomainVectorEnv(2, "metro-v0", seed=0)
>>> _ = envs.reset(seed=0)
>>> shield = DomainShield(build_shield(RunConfig(scenario="metro-v0", agents="per-domain"), envs.orch.scenario, envs),
...                       envs)
>>> shield.shield.evaluator.predict = lambda o, a: (np.ones((len(o), 5)), np.zeros((len(o), 5)))  # always switch
>>> played, switched = shield.filter({g: np.full((2, envs.act_sizes[g]), 0.5) for g in envs.groups})
>>> bool(switched.all()), {g: a.shape for g, a in played.items()}
(True, {'ran_edge': (2, 25), 'transport': (2, 5), 'core': (2, 5)})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.shield_data import live_margin
from netslice.intelligence.agents.shield_front import ShieldFront
from netslice.intelligence.decomposition import GROUPS
from netslice.intelligence.envs import domain_features as layout
from netslice.intelligence.envs.domain_vector import assemble_batch
from netslice.intelligence.policies.base import ContextPolicy
from netslice.intelligence.policies.slice_switching import SliceSwitchingPolicy
from netslice.intelligence.policies.switching import only_live

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class DomainShield(ShieldFront):
    """A :class:`~.shield.TrainingShield` in front of per-domain agents (see the module docstring).

    Args:
        shield: the network-level shield (built for the centralised layout of the envs' scenario).
        envs: the per-domain envs (:class:`~netslice.intelligence.envs.domain_vector.DomainVectorEnv`: its
            ``network_view``, ``last_kpis``, ``num_envs`` and ``n_slices``).
    """

    def __init__(self, shield: TrainingShield, envs: Any) -> None:
        super().__init__(shield, envs)
        self.n, self.k = int(envs.num_envs), int(envs.n_slices)
        # The last filter's slot: (obs, live, agents' allocation, played allocation, switched), allocations (n, 7, K).
        self._slot: tuple[Any, BoolArray, FloatArray, FloatArray, BoolArray] | None = None

    def filter(self, shares: Mapping[str, ArrayLike]) -> tuple[dict[str, FloatArray], BoolArray]:
        """``(played, switched (n,))``: every group's rows of the baseline's allocation in the switched networks.

        ``shares``: each group's rows ``(n, n_rows_g K)`` (clipped to [0, 1] here, as the env clips them). A network
        that is not switched plays its groups' rows bit for bit (as float64).

        Raises:
            InvalidAllocationError: a missing group, a wrong size or a non-finite value (nothing is recorded then).
        """
        agents, _ = assemble_batch(shares, self.n, self.k)
        net_obs, live = self.envs.network_view()
        enforced, switched = self.shield.filter(net_obs, agents.reshape(self.n, -1), live=live)
        played_alloc = enforced.reshape(agents.shape)
        self._slot = (net_obs, live, agents, played_alloc, switched)
        played = {}
        for g in GROUPS:
            rows = list(layout.GROUP_ROWS[g])
            own = np.asarray(shares[g], dtype=np.float64).reshape(self.n, -1)
            played[g] = np.where(switched[:, None], played_alloc[:, rows, :].reshape(self.n, -1), own)
        return played, switched

    def _last(self) -> tuple[Any, BoolArray, FloatArray, FloatArray, BoolArray]:
        if self._slot is None:
            raise RuntimeError("DomainShield: no filter call before")
        return self._slot

    def record(self, info: Mapping[str, Any]) -> tuple[Any, ...]:
        """The slot just played as the shield learns it: ``(obs, played allocation, cost, margin, switched)``."""
        net_obs, live, _, played, switched = self._last()
        cost = np.asarray(info["cost_e2e"], dtype=np.float64)
        margin = None
        if self.cfg.target == "margin":
            margin = live_margin(self.shield.margin({"kpis": self.envs.last_kpis}), live)
        return np.asarray(net_obs), played.reshape(self.n, -1), cost, margin, switched

    def blame(self) -> FloatArray:
        """``(m, K, G)``: what each group is charged per slice in the ``m`` networks the last filter switched.

        See the module docstring: a group's own statistic where its rows alone (the baseline's elsewhere) are
        predicted to violate a slice the joint allocation is predicted to violate; the joint statistic for every
        group where only the combination is; 0 for a slice not predicted to violate. Clipped to [0, 1].
        """
        net_obs, live, agents, played, switched = self._last()
        if self.shield.last_score is None:
            raise RuntimeError("DomainShield: no filter call before")
        rows = np.flatnonzero(switched)
        m = rows.size
        joint = np.clip(self.shield.last_score[rows], 0.0, 1.0)  # (m, K)
        mixes = np.repeat(played[rows][None], len(GROUPS), axis=0)  # (G, m, 7, K): the baseline's allocation
        for gi, g in enumerate(GROUPS):
            idx = list(layout.GROUP_ROWS[g])
            mixes[gi][:, idx, :] = agents[rows][:, idx, :]
        obs = np.tile(np.asarray(net_obs)[rows], (len(GROUPS), 1))
        mean, std = only_live(*self.shield.evaluator.predict(obs, mixes.reshape(len(GROUPS) * m, -1)),
                              np.tile(live[rows], (len(GROUPS), 1)))  # fmt: skip
        alone = np.clip(mean - self.cfg.confidence_z * std, 0.0, 1.0).reshape(len(GROUPS), m, self.k)
        alone = np.moveaxis(alone, 0, -1)  # (m, K, G)
        predicted = (joint > 0.0)[..., None]
        nobody = ~(alone > 0.0).any(axis=-1, keepdims=True)
        out: FloatArray = np.where(predicted, np.where(nobody, joint[..., None], alone), 0.0)
        return out

    def judge(self, local: NDArray[np.floating]) -> FloatArray:
        """``(n, K, G)``: each group's local SLA cost of the slot just played, as its learner is judged by it.

        ``local``: the env's ``info["cost"]`` (each group's local cost as played). A switched network's entries are
        :meth:`blame`'s; the others are ``local`` as played.
        """
        c = np.array(local, dtype=np.float64)
        switched = self._last()[-1]
        if switched.any():
            c[switched] = self.blame()
        return c

    def switching_policy(self, agents: ContextPolicy, name: str = "per-domain+switching") -> SliceSwitchingPolicy:
        """``agents`` (the :class:`~.domain_policy.DomainPolicy`) behind this shield's evaluator, rule and baseline.

        Frozen: the evaluator does not learn. The gate's own agent is only a label (the allocation comes from
        ``agents``), so it is the baseline.
        """
        return SliceSwitchingPolicy(agents, self.shield.switching_policy(self.shield.baseline, name=name), name)
