"""Batched per-domain environment: the three domain groups of Fig. 4(c) over ``num_envs`` networks at once.

:class:`DomainVectorEnv` is to :class:`~.domains.DomainParallelEnv` what :class:`~.vector.SliceVectorEnv` is to the
single-network env: one orchestrator steps every network in one call, with no Python loop over networks. It is what
the per-domain learners (:mod:`netslice.intelligence.agents.domain_agents`) roll out on.

Card (K slices, groups :data:`~netslice.intelligence.decomposition.GROUPS`, G = 3):

* Observations: a dict group -> ``(num_envs, obs_g)`` float32 in the layout of :mod:`.domain_features` (its
  domains' state, the traffic and time features, its latency budget and last local cost per slice).
* Actions: a dict group -> ``(num_envs, n_rows_g * K)`` in [0, 1], its rows of the allocation, resource-major
  (:data:`.domain_features.GROUP_ROWS`). Every group must act; together the rows cover the whole ``(7, K)``
  allocation. Values outside [0, 1] are clipped (``info["action_clip"]`` ``(num_envs, G)``); non-finite
  values are an :class:`~netslice.errors.InvalidAllocationError`; over-capacity rows are scaled down by the
  orchestrator.
* Rewards ``(num_envs, G)``: minus each group's domains' part of the weighted usage; they sum over groups to the
  single-agent ``"usage"`` reward of :class:`~.vector.SliceVectorEnv` (:data:`~.decomposition.MEMBERSHIP`).
* Info: ``cost`` ``(num_envs, K, G)`` each group's local SLA cost against the budgets in force during the slot
  (:meth:`~netslice.intelligence.decomposition.SlaDecomposer.cost`, fixed or adaptive decomposition);
  ``cost_e2e`` ``(num_envs, K)`` the slices' end-to-end SLA cost clipped to [0, 1] (the single-agent
  ``info["cost"]``); ``latency_ms`` and ``budget_ms`` ``(num_envs, K, G)``; ``usage`` ``(num_envs, 4)``.
* Episodes: every network truncates after ``slots_per_episode`` slots (the scenario's day by default). Autoreset
  is ``SAME_STEP`` with every network in step: where an episode ends, the returned observations are already the
  next episode's (budgets back at the fixed split) and the last ones are in ``info["final_obs"]`` (a dict group
  -> ``(num_envs, obs_g)``, rows of the ended networks meaningful, mask ``info["_final_obs"]``).
* Seeding: ``reset(seed=s)`` re-seeds the orchestrator's one generator (same ``s``, same rollouts).
* The centralised view: :meth:`DomainVectorEnv.network_view` encodes the networks as a centralised agent sees them
  (what the training shield judges, :mod:`~netslice.intelligence.agents.domain_shield`); :attr:`~DomainVectorEnv.
  last_kpis` holds the KPIs of the slot just run.

The slot's judgement, :func:`~netslice.intelligence.decomposition.judge_slot`, is the parallel env's and the
trained agents' evaluation policy's too: the policy must see the budgets the env showed the agents while learning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from gymnasium.error import ResetNeeded
from numpy.typing import ArrayLike, NDArray

from netslice.errors import ConfigError, InvalidAllocationError
from netslice.intelligence.decomposition import (
    DEFAULT_SHARES,
    GROUPS,
    MEMBERSHIP,
    N_GROUPS,
    DecompositionConfig,
    DecompositionState,
    E2eRequirement,
    SlaDecomposer,
    judge_slot,
)
from netslice.intelligence.decomposition_budgets import SHARES
from netslice.intelligence.envs import domain_features as layout
from netslice.intelligence.envs.domains import _config, design_shares
from netslice.intelligence.envs.features import Float32Array, FloatArray
from netslice.intelligence.envs.options import SCENARIO_LENGTH, EnvCore, EpisodeLength, clip_action
from netslice.network.kernel import Kpis
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets
from netslice.orchestration.agent_api import Observation
from netslice.orchestration.orchestrator import Orchestrator

GroupObs = dict[str, Float32Array]


def nominal_shares(kind: str, n_slices: int) -> FloatArray | None:
    """The ``shares`` argument of :class:`DomainVectorEnv` for a name of :data:`~.decomposition_budgets.SHARES`.

    ``"design"`` gives None (the env takes the slices' design points), ``"equal"`` the ``(K, 3)``
    :data:`~netslice.intelligence.decomposition.DEFAULT_SHARES`.

    Raises:
        ConfigError: an unknown name.
    """
    if kind not in SHARES:
        raise ConfigError(f"domain_shares: must be one of {', '.join(map(repr, SHARES))}, got {kind!r}")
    return None if kind == "design" else np.broadcast_to(DEFAULT_SHARES, (n_slices, N_GROUPS)).copy()


def assemble_batch(actions: Mapping[str, ArrayLike], n_envs: int, n_slices: int) -> tuple[FloatArray, FloatArray]:
    """The joint allocations ``(n_envs, 7, K)`` of every group's rows, and each group's clip ``(n_envs, G)``.

    Raises:
        InvalidAllocationError: a missing or unknown group, an action of the wrong size, or a non-finite value.
    """
    if set(actions) != set(GROUPS):
        raise InvalidAllocationError(f"actions: every group must act, expected {list(GROUPS)}, got {list(actions)}")
    n_rows = sum(len(layout.GROUP_ROWS[g]) for g in GROUPS)
    alloc = np.zeros((n_envs, n_rows, n_slices))
    clips = np.zeros((n_envs, N_GROUPS))
    for g, group in enumerate(GROUPS):
        rows = layout.GROUP_ROWS[group]
        values = np.asarray(actions[group], dtype=np.float64)
        if values.size != n_envs * len(rows) * n_slices:
            raise InvalidAllocationError(f"action[{group}]: expected ({n_envs}, {len(rows) * n_slices}) values, got "
                                         f"shape {values.shape}")  # fmt: skip
        clipped, clips[:, g] = clip_action(values.reshape(n_envs, -1), name=f"action[{group}]")
        alloc[:, list(rows), :] = clipped.reshape(n_envs, len(rows), n_slices)
    return alloc, clips


class DomainVectorEnv(EnvCore):
    """Per-domain agents over ``num_envs`` networks of one orchestrator (see the module card).

    Args:
        num_envs: networks simulated side by side.
        scenario: registered scenario name or loaded scenario.
        seed: seed of the orchestrator created here (episodes are re-seeded by ``reset(seed=...)``).
        weights: ``(4,)`` domain weights of the rewards, default equal.
        backend: simulator backend.
        slots_per_episode: ``"scenario"`` (the scenario's day), an int, or ``None`` (never truncate).
        decomposition: ``"fixed"``, ``"adaptive"`` or a :class:`DecompositionConfig`.
        shares: ``(K, 3)`` nominal group shares (default: each slice's design point, as the parallel env's).

    Raises:
        ConfigError: an invalid option.
    """

    def __init__(
        self,
        num_envs: int,
        scenario: str | Scenario = "testbed-v0",
        seed: int | None = None,
        *,
        weights: FloatArray | None = None,
        backend: str = "auto",
        slots_per_episode: EpisodeLength = SCENARIO_LENGTH,
        decomposition: str | DecompositionConfig = "adaptive",
        shares: ArrayLike | None = None,
    ) -> None:
        config = _config(decomposition)
        self._setup(
            scenario, seed, vector=True, num_envs=num_envs, orchestrator=None, encoder=None, weights=weights,
            backend=backend, slots_per_episode=slots_per_episode, max_episode_steps=None, render_mode=None,
            reward="usage", cost_penalty=0.0,
        )  # fmt: skip
        assert isinstance(self.orch, Orchestrator)  # created here
        self.num_envs = self.spaces.n_envs
        sc = self.orch.scenario
        self.targets = SlaTargets.from_spec(sc.spec)
        nominal = design_shares(self.orch, self.n_slices) if shares is None else shares
        self.decomposer = SlaDecomposer.create(E2eRequirement.from_scenario(sc), nominal, config)
        self.groups: tuple[str, ...] = GROUPS
        self.obs_sizes = {g: int(layout.observation_space(g, self.n_slices).shape[0]) for g in GROUPS}
        self.act_sizes = {g: int(layout.action_space(g, self.n_slices).shape[0]) for g in GROUPS}
        self._t = 0
        self._budgets = self.decomposer.initial(self.num_envs)
        self._local = np.zeros((self.num_envs, self.n_slices, N_GROUPS))
        self._started = False  # reset (or restored) once
        self.last_kpis: Kpis | None = None

    @property
    def episode_length(self) -> int:
        """Slots per episode (the scenario's day where the env never truncates)."""
        return self.spaces.slots_per_episode if self.slots_per_episode is None else self.slots_per_episode

    @property
    def decomposition_state(self) -> DecompositionState:
        """The decomposer's state: the budgets of the coming slot and the smoothed group latencies."""
        return self._budgets

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue the rollouts later: the orchestrator, the slot count, the decomposer's state.

        Raises:
            ConfigError: the orchestrator is remote (its state cannot be captured here).
        """
        budgets = self._budgets
        return {
            "orchestrator": self._pickled_orchestrator(), "t": self._t, "budgets_ms": budgets.budgets_ms.copy(),
            "smoothed_ms": budgets.smoothed_ms.copy(), "local": self._local.copy(),
        }  # fmt: skip

    def restore(self, snap: dict[str, Any]) -> None:
        """Continue from a :meth:`snapshot` (the orchestrator object is updated in place).

        Raises:
            ConfigError: the snapshot comes from another scenario or number of networks.
        """
        self._restore_orchestrator(snap["orchestrator"])
        self._t, self._started = int(snap["t"]), True
        state = DecompositionState(np.asarray(snap["budgets_ms"], dtype=np.float64).copy(),
                                   np.asarray(snap["smoothed_ms"], dtype=np.float64).copy())  # fmt: skip
        if state.budgets_ms.shape != self._budgets.budgets_ms.shape:
            raise ConfigError(f"restore: the snapshot's budgets have shape {state.budgets_ms.shape}, this env's "
                              f"{self._budgets.budgets_ms.shape}")  # fmt: skip
        self._budgets = state
        self._local = np.asarray(snap["local"], dtype=np.float64).copy()

    def network_view(self) -> tuple[Float32Array, NDArray[np.bool_]]:
        """``(obs (num_envs, n_features), live (num_envs, K))``: the networks as a centralised agent sees them.

        ``obs`` is the centralised encoding (:class:`~.features.Encoder`) of the observation the groups act on
        next (without KPIs at an episode start, as :class:`~.vector.SliceVectorEnv` encodes it); ``live``: the
        slices provisioned in the coming slot.

        Raises:
            ResetNeeded: before the first reset.
        """
        if not self._started:
            raise ResetNeeded("network_view: call reset() first")
        latest = self.orch.observation()
        if self._t == 0:  # every network is in step: all of them start an episode
            latest = replace(latest, kpis=None)
        live = np.broadcast_to(np.asarray(latest.active, dtype=bool), (self.num_envs, self.n_slices)).copy()
        return self.encoder.encode(latest), live

    def observe(self, obs: Observation) -> GroupObs:
        """Every group's observation of ``obs`` with the budgets and local costs in force."""
        return layout.group_observations(self.encoder, obs, self._budgets.budgets_ms, self._local)

    def reset(self, *, seed: int | None = None) -> tuple[GroupObs, dict[str, Any]]:
        """Start new episodes in every network (budgets at the fixed split); ``seed`` re-seeds the simulator."""
        return self._restart(self.orch.reset(seed=seed)), {}

    def _restart(self, obs: Observation) -> GroupObs:
        """The first observations of new episodes in every network (nothing measured yet)."""
        self._t, self._started = 0, True
        self._budgets = self.decomposer.initial(self.num_envs)
        self._local = np.zeros_like(self._local)
        return self.observe(replace(obs, kpis=None))

    def step(
        self, actions: Mapping[str, ArrayLike]
    ) -> tuple[GroupObs, FloatArray, NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """Run one slot in every network under the groups' rows (see the module card).

        Returns:
            ``(observations, rewards (n, G), terminated (n,), truncated (n,), info)``.
        """
        alloc, clips = assemble_batch(actions, self.num_envs, self.n_slices)
        result = self.orch.step(alloc)
        self.last_kpis = result.kpis
        self._t += 1
        in_force = self._budgets
        slot = judge_slot(self.decomposer, self.targets, in_force, result.kpis)
        self._budgets, self._local = slot.state, slot.local
        usage = np.asarray(result.usage, dtype=np.float64)
        rewards: FloatArray = -(usage * self.encoder.weights) @ MEMBERSHIP
        info: dict[str, Any] = {
            "cost": slot.cost, "cost_e2e": self.encoder.info(result)["cost"], "latency_ms": slot.observed_ms,
            "budget_ms": in_force.budgets_ms, "usage": usage, "action_clip": clips,
        }  # fmt: skip
        obs = self.observe(result.observation)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.full(self.num_envs, self.slots_per_episode is not None and self._t >= self.slots_per_episode)
        if truncated.any():
            info["final_obs"], info["_final_obs"] = obs, truncated.copy()
            obs = self._restart(self.orch.reset(mask=truncated))  # every network is in step: all of them
        return obs, rewards, terminated, truncated, info
