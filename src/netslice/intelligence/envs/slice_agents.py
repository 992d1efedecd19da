"""Per-slice agents as one batched env: every (network, slice slot) pair is a sub-env of one shared policy.

:class:`SliceAgentsVectorEnv` is a :class:`gymnasium.vector.VectorEnv` over the orchestrator's agent API in which
sub-env ``i = network * K + k`` is slice slot ``k`` of network ``network``. One policy, trained on the aggregated
experience of every slice, serves them all: a slice admitted at run time is served without retraining, and the
action space follows the number of slices. The agents compete for capacity; the orchestrator's capacity
enforcement (proportional scaling by default) keeps every node within capacity.

Card::

    envs = SliceAgentsVectorEnv(8, "metro-v0", seed=0)    # num_envs = 8 networks x 5 slots = 40

* Observation: ``(num_envs, 40)`` float32, one slice's view in the layout of :mod:`.slice_features`
  (independent of K and of the slot index; zeros with ``present`` = 0 where the slot holds no slice).
* Action: ``(num_envs, 7)`` in [0, 1], the slice's column of the allocation (rows prb_ul, prb_dl, mcs_ul,
  mcs_dl, tn_bw, cn_cpu, edge_cpu); clipped as in :mod:`.vector` (``info["action_clipped"]``,
  ``info["action_clip"]``); an absent slot's action is ignored (the orchestrator gives it nothing).
* Reward: ``reward="usage"``: minus the slice's own weighted usage (``Kpis.slice_usage``, as in
  :mod:`.parallel`; a network's sub-env rewards sum to its single-agent reward); ``"penalized"``: that minus
  ``cost_penalty`` times its clipped SLA cost (then ``info["reward_usage"]`` holds the first). 0 where the slot
  held no slice in the slot just run.
* Cost: ``info["cost"]`` ``(num_envs, n_kinds)``: the sub-env's clipped SLA cost in the column of its service
  kind (:attr:`cost_names`, the scenario's kinds in order of first appearance), 0 elsewhere;
  ``info["cost_mask"]`` ``(num_envs, n_kinds)`` bool, True where that column is live (the slice ran the slot and
  is of that kind). Also ``info["slice_cost"]`` and ``info["cost_raw"]`` ``(num_envs,)`` (its own clipped and raw
  cost), ``info["usage"]`` ``(num_envs, 4)`` (its part of each domain's usage), ``info["present"]`` (provisioned
  in the coming slot), ``info["ran"]`` (ran the slot just played) and ``info["modified"]`` (its network's).
* Episodes: a sub-env whose slot held no slice in the slot just run is ``terminated`` (one-step episodes of
  reward 0, so that GAE never bootstraps across a change of tenant), and so is a slice at the step it departs
  (or its slot changes tenant); every sub-env is ``truncated`` after ``slots_per_episode`` slots, as in
  :mod:`.vector`.
* Autoreset: ``SAME_STEP`` only: where an episode is truncated the observation returned is already the first of
  the next one; the last one is in ``info["final_obs"]`` (mask ``info["_final_obs"]``), the step's info in
  ``info["final_info"]``. Slices come and go through the orchestrator's lifecycle (``create_slice``,
  ``terminate_slice``) between or during steps; ``Observation.active`` says which are provisioned.
* Seeding: as :mod:`.vector` (one generator for the batch).

Baseline switching (:mod:`~netslice.intelligence.agents.slice_shield`) judges each network's allocation as the
centralised agent's: :meth:`SliceAgentsVectorEnv.network_view` gives every network's observation in the
centralised layout of :mod:`.features` (what :class:`~.vector.SliceVectorEnv` would return now) and which slices
are provisioned in the coming slot; :attr:`~SliceAgentsVectorEnv.last_kpis` holds the KPIs of the slot just run.

Who ran a slot is read from the orchestrator's ``active`` (and, for an in-process orchestrator, its slice
records: which slice id holds a slot) before and after each slot; with a remote orchestrator a slot whose slice is
terminated and replaced between the same two steps is not seen as a change of tenant.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from netslice.errors import ConfigError, InvalidAllocationError
from netslice.intelligence.envs.connection import AgentApi
from netslice.intelligence.envs.features import Encoder, Float32Array, FloatArray
from netslice.intelligence.envs.options import (
    DEFAULT_COST_PENALTY,
    SCENARIO_LENGTH,
    EnvCore,
    EpisodeLength,
    clip_action,
    parse_autoreset_mode,
)
from netslice.intelligence.envs.slice_features import N_AGENT_FEATURES, SliceEncoder
from netslice.intelligence.envs.vector import _combined_seed, _masked
from netslice.network import scenarios
from netslice.network.allocation import N_RESOURCES
from netslice.network.kernel import Kpis
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets
from netslice.orchestration.agent_api import StepResult
from netslice.orchestration.orchestrator import Orchestrator

BoolArray = NDArray[np.bool_]


class SliceAgentsVectorEnv(VectorEnv[Float32Array, FloatArray, NDArray[Any]], EnvCore):
    """One sub-env per (network, slice slot), for one policy shared by every slice (see the module docstring).

    Args:
        n_networks: networks simulated side by side (ignored when ``orchestrator`` is given).
        scenario: registered scenario name or loaded scenario.
        seed: seed of the orchestrator created here (episodes are re-seeded by ``reset(seed=...)``).
        orchestrator: drive this orchestrator (or client) instead of creating one.
        encoder: the scenario-wide observation encoder (default: built from the scenario).
        weights: ``(4,)`` domain weights of the reward (ran, tn, cn, edge), default equal.
        backend: simulator backend of the orchestrator created here.
        max_episode_steps: slots per episode (overrides ``slots_per_episode``).
        slots_per_episode: ``"scenario"`` (the scenario's day), an int, or ``None`` (never truncate).
        autoreset_mode: only ``SAME_STEP`` (or its value).
        reward: ``"usage"`` or ``"penalized"`` (see :mod:`.options`).
        cost_penalty: weight of the slice's clipped SLA cost in the ``"penalized"`` reward.

    Raises:
        ConfigError: another autoreset mode, or an invalid option (see :class:`~.options.EnvCore`).
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        n_networks: int | None = None,
        scenario: str | Scenario = "testbed-v0",
        seed: int | None = None,
        *,
        orchestrator: AgentApi | None = None,
        encoder: Encoder | None = None,
        weights: FloatArray | None = None,
        backend: str = "auto",
        max_episode_steps: int | None = None,
        slots_per_episode: EpisodeLength = SCENARIO_LENGTH,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        reward: str = "usage",
        cost_penalty: float = DEFAULT_COST_PENALTY,
    ) -> None:
        mode = parse_autoreset_mode(autoreset_mode)
        if mode != AutoresetMode.SAME_STEP:
            raise ConfigError(f"autoreset_mode: {type(self).__name__} autoresets in the same step only, got {mode}")
        self.autoreset_mode = mode
        self._setup(
            scenario, seed, vector=True, num_envs=n_networks, orchestrator=orchestrator, encoder=encoder,
            weights=weights, backend=backend, slots_per_episode=slots_per_episode, max_episode_steps=max_episode_steps,
            render_mode=None, reward=reward, cost_penalty=cost_penalty,
        )  # fmt: skip
        if isinstance(self.orch, Orchestrator):
            sc = self.orch.scenario
        else:
            sc = scenarios.load(scenario) if isinstance(scenario, str) else scenario
        self._targets_seen = self._targets()
        self.slice_encoder = SliceEncoder.from_scenario(sc, self.encoder, self._targets_seen)
        self.n_networks = self.spaces.n_envs
        self.num_envs = self.n_networks * self.n_slices
        self.single_observation_space = SliceEncoder.observation_space()
        self.single_action_space = SliceEncoder.action_space()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._t = np.zeros(self.n_networks, dtype=np.int64)
        self._obs: Float32Array | None = None
        self._tenants_seen: tuple[str | None, ...] = (None,) * self.n_slices  # who the last observation showed
        #: The KPIs of the slot just run, per network (None before the first step).
        self.last_kpis: Kpis | None = None

    # ------------------------------------------------------------------------------------ layout

    @property
    def cost_names(self) -> tuple[str, ...]:
        """The cost columns: the scenario's service kinds (what PPO's multipliers and ledger are named by)."""
        return self.slice_encoder.cost_names

    @property
    def max_episode_steps(self) -> int:
        """Slots per episode: :attr:`slots_per_episode`, or the scenario's day where that is ``None``."""
        return self.spaces.slots_per_episode if self.slots_per_episode is None else self.slots_per_episode

    def network_view(self) -> tuple[Float32Array, BoolArray]:
        """``(obs (n_networks, n_features), present (n_networks, K))``: the networks as a centralised agent sees them.

        ``obs`` is the centralised encoding (:class:`~.features.Encoder`) of the orchestrator's latest observation,
        without KPIs for a network whose episode just started (as :class:`~.vector.SliceVectorEnv` encodes it);
        ``present``: the slices provisioned in the coming slot, the same in every network.

        Raises:
            ResetNeeded: before the first reset.
        """
        if self._obs is None:
            raise ResetNeeded("network_view: call reset() first")
        latest = self.orch.observation()
        obs = self.encoder.encode(latest)
        started = self._t == 0
        if started.any():
            obs = np.where(started[:, None], self.encoder.encode(replace(latest, kpis=None)), obs)
        present = np.broadcast_to(self._live_active(), (self.n_networks, self.n_slices)).copy()
        return obs, present

    def network_of(self, index: int) -> tuple[int, int]:
        """The ``(network, slot)`` of sub-env ``index``."""
        return divmod(int(index), self.n_slices)

    # ------------------------------------------------------------------------------------ episodes

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Float32Array, dict[str, Any]]:
        """Start new episodes in every network (``seed``: as :class:`~.vector.SliceVectorEnv`; one per network).

        Raises:
            ConfigError: ``options`` given (only full resets), or a seed list of the wrong length.
        """
        if options:
            raise ConfigError(f"options: {type(self).__name__}.reset takes none (every network is reset)")
        if isinstance(seed, list | tuple):
            seed = _combined_seed(seed, self.n_networks)
        obs = self.orch.reset(seed=seed)
        self._t[:] = 0
        self._tenants_seen = self._tenants(obs.active)
        self._obs = self._encoder().encode(replace(obs, kpis=None)).reshape(self.num_envs, N_AGENT_FEATURES)
        return self._obs.copy(), {}

    def step(
        self, actions: FloatArray
    ) -> tuple[Float32Array, FloatArray, NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """Run one slot in every network under every slice's column (see the module docstring).

        Args:
            actions: ``(num_envs, 7)``, clipped to [0, 1].

        Raises:
            ResetNeeded: before the first reset.
            InvalidAllocationError: actions of the wrong size, or non-finite.
        """
        if self._obs is None:
            raise ResetNeeded("step: call reset() first")
        n, k = self.n_networks, self.n_slices
        flat = np.asarray(actions, dtype=np.float64)
        if flat.size != self.num_envs * N_RESOURCES:
            raise InvalidAllocationError(f"actions: expected ({self.num_envs}, {N_RESOURCES}), got {flat.shape}")
        columns, clip = clip_action(flat.reshape(self.num_envs, N_RESOURCES))
        before = self._tenants(self._live_active())
        result = self.orch.step(np.ascontiguousarray(columns.reshape(n, k, N_RESOURCES).transpose(0, 2, 1)))
        self.last_kpis = result.kpis
        self._t += 1
        now = np.asarray(result.observation.active, dtype=bool)
        after = self._tenants(now)
        ran = np.array([t is not None for t in before])
        kept = np.array([b is not None and b == a for b, a in zip(before, after, strict=True)])
        # A sample is clean when the slice that acted on the last observation is the one that ran the slot.
        acted = np.array([b is not None and b == s for b, s in zip(before, self._tenants_seen, strict=True)])
        # Provisioned now, but did not run the slot just observed on its own decision (it arrived after the slot, or
        # ran it on the action taken for the empty slot or for a former tenant): its block reads 0.
        fresh = now & ~(kept & acted)
        encoder = self._encoder()
        obs = encoder.encode(result.observation, now, fresh).reshape(self.num_envs, N_AGENT_FEATURES)
        info = self._info(result, encoder, ran, acted, now, clip)
        terminated = np.broadcast_to(~ran | ~kept | ~acted, (n, k)).reshape(-1).copy()
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.slots_per_episode is not None:
            ends = self._t >= self.slots_per_episode  # (n,) networks whose episode ends
            truncated = np.repeat(ends, k)
            if ends.any():
                final_obs = np.full(self.num_envs, None, dtype=object)
                for i in np.flatnonzero(truncated):
                    final_obs[i] = obs[i].copy()
                final_info = _masked(info, truncated)
                info["final_obs"], info["_final_obs"] = final_obs, truncated.copy()
                info["final_info"], info["_final_info"] = final_info, truncated.copy()
                reset = self.orch.reset(mask=ends)
                fresh_obs = encoder.encode(replace(reset, kpis=None)).reshape(self.num_envs, N_AGENT_FEATURES)
                obs = np.where(truncated[:, None], fresh_obs, obs)
                self._t[ends] = 0
        self._tenants_seen = after
        self._obs = obs
        return obs.copy(), info.pop("_reward"), terminated, truncated, info

    def _info(
        self, result: StepResult, encoder: SliceEncoder, ran: BoolArray, acted: BoolArray, now: BoolArray,
        clip: FloatArray,
    ) -> dict[str, Any]:  # fmt: skip
        """The step's rewards (under ``"_reward"``) and info (see the module docstring)."""
        n, k, m = self.n_networks, self.n_slices, len(encoder.cost_names)
        live = ran & acted
        base = self.encoder.info(result)
        slice_cost = np.where(live, base["cost"], 0.0)  # (n, K)
        usage_reward = np.where(live, self.encoder.slice_reward(result.kpis.slice_usage), 0.0)
        reward = usage_reward - self.cost_penalty * slice_cost if self.reward_kind != "usage" else usage_reward
        column = np.zeros((k, m), dtype=bool)
        column[np.arange(k), encoder.kind_column] = True
        mask = np.broadcast_to(column[None] & live[None, :, None], (n, k, m)).reshape(self.num_envs, m)
        slice_usage = np.asarray(result.kpis.slice_usage, dtype=np.float64)  # (n, 4, K)
        info: dict[str, Any] = {
            "cost": np.where(mask, np.repeat(slice_cost.reshape(-1), m).reshape(-1, m), 0.0),
            "cost_mask": mask.copy(),
            "slice_cost": slice_cost.reshape(-1),
            "cost_raw": np.where(live, np.asarray(result.cost, dtype=np.float64), 0.0).reshape(-1),
            "usage": np.where(live[None, :, None], slice_usage.transpose(0, 2, 1), 0.0).reshape(-1, 4),
            "present": np.broadcast_to(now, (n, k)).reshape(-1).copy(),
            "ran": np.broadcast_to(ran, (n, k)).reshape(-1).copy(),
            "modified": np.repeat(np.asarray(result.modified, dtype=bool), k),
            "action_clipped": clip > 0.0,
            "action_clip": clip,
            "_reward": reward.reshape(-1),
        }
        if self.reward_kind != "usage":
            info["reward_usage"] = usage_reward.reshape(-1)
        return info

    # ------------------------------------------------------------------------------------ slots and tenants

    def _live_active(self) -> BoolArray:
        """``(K,)`` the slices provisioned now (the orchestrator's, else its latest observation's)."""
        live = getattr(self.orch, "active", None)
        return np.asarray(live if live is not None else self.orch.observation().active, dtype=bool)

    def _tenants(self, active: BoolArray) -> tuple[str | None, ...]:
        """Who holds each slot: the slice id (in-process), ``""`` (provisioned, id unknown) or ``None`` (nobody)."""
        ids: dict[int, str] = {}
        if isinstance(self.orch, Orchestrator):
            ids = {r.index: sid for sid, r in self.orch.records.items()}
        return tuple((ids.get(k, "") if bool(a) else None) for k, a in enumerate(active))

    def _targets(self) -> SlaTargets | None:
        """The SLA targets in force (an in-process orchestrator's), else None (the scenario's)."""
        return self.orch.sla_targets() if isinstance(self.orch, Orchestrator) else None

    def _encoder(self) -> SliceEncoder:
        """The slice encoder, with the SLA targets in force (a slice may have been admitted with its own)."""
        targets = self._targets()
        if targets is not None and targets is not self._targets_seen:
            self.slice_encoder = self.slice_encoder.with_targets(targets)
            self._targets_seen = targets
        return self.slice_encoder

    # ------------------------------------------------------------------------------------ checkpoints

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue the rollouts later (in-process orchestrator only).

        Raises:
            ConfigError: the orchestrator is remote.
        """
        return {
            "orchestrator": self._pickled_orchestrator(), "t": self._t.copy(),
            "obs": None if self._obs is None else self._obs.copy(), "tenants": self._tenants_seen,
        }  # fmt: skip

    def restore(self, snap: dict[str, Any]) -> None:
        """Continue from a :meth:`snapshot` (the orchestrator object is updated in place).

        Raises:
            ConfigError: the snapshot comes from another scenario or number of networks.
        """
        self._restore_orchestrator(snap["orchestrator"])
        self._t = np.asarray(snap["t"], dtype=np.int64).copy()
        self._obs = None if snap["obs"] is None else np.asarray(snap["obs"], dtype=np.float32).copy()
        self._tenants_seen = tuple(snap["tenants"])
