"""Per-slice multi-agent environment: a PettingZoo :class:`~pettingzoo.ParallelEnv`, one agent per slice.

Card (one network; K slices; agent ids ``slice_<name>`` in slice order):

* Action of agent k: ``Box(0, 1, (7,), float32)``, its column of the allocation, rows prb_ul,
  prb_dl, mcs_ul, mcs_dl, tn_bw, cn_cpu, edge_cpu. An agent that sends no action keeps its
  allocation in force. Values outside [0, 1] are clipped (``info["action_clipped"]``,
  ``info["action_clip"]`` of that agent); NaN or infinite values are an
  :class:`~netslice.errors.InvalidAllocationError`. The orchestrator scales over-capacity rows
  down proportionally, as for any action.
* Observation of agent k: ``Box((23,), float32)``: its slice block of :mod:`.features` (14
  values), the time features (2), then the other slices' total allocation in force per row (7,
  in [0, K - 1]; share rows sum to at most 1 per node, MCS knobs to at most K - 1).
* Reward of agent k (``reward=``, :mod:`.options`): ``"usage"`` (default): minus the weighted mean
  over domains of its own part of the usage (``Kpis.slice_usage``); ``"penalized"``: that minus
  ``cost_penalty`` times its own clipped SLA cost. Either way the agents' rewards sum to the
  single-agent reward of the same formulation.
* Info of agent k: ``cost`` (its SLA cost clipped to [0, 1]), ``cost_raw``, ``usage`` ``(4,)``
  (its part of each domain's usage), ``action_clipped``, ``action_clip``; with ``"penalized"``
  also ``reward_usage``.
* Episode end: every agent is truncated after ``slots_per_episode`` slots (default the scenario's
  day; ``None``: never); ``agents`` is then empty.
* Slices that come and go: ``agents`` follows ``Observation.active``. A slice released through the
  orchestrator's lifecycle (``terminate_slice``, or a departure during a slot) is ``terminated`` at
  the step that sees it gone (reward 0 if it did not run that slot) and leaves ``agents``; a slice
  provisioned since (``create_slice``, or an arrival) appears in the next observation dict, with
  reward 0 and ``terminated``/``truncated`` False at that step. Until its agent acts, a newly
  provisioned slice runs on the allocation its admission put in force. Its first observation reads
  0 in its own block (the slot's KPIs are not its own), and absent slices count in nobody's totals.
  A terminated agent never comes back (PettingZoo's and RLlib's rule): the first slice of a slot in
  an episode is ``slice_<name>``, each later one ``slice_<name>#<n>`` (n = 1, 2, ...), and with an
  in-process orchestrator a new tenant of a slot (a different slice id) ends the former one's agent
  and joins under its new id in the same step. ``possible_agents`` lists every id an episode can
  produce: for a scenario with an ``arrivals`` section, ``slots_per_episode`` later tenants per slot
  (at most one per slot and step); for one without, the slot ids alone. An id beyond that (a static
  scenario's slice released and re-created through the lifecycle, or an episode without an end) is
  added to ``possible_agents`` when it first appears.
* Rendering: ``render_mode="ansi"`` or ``"rgb_array"``, the network as in :mod:`.render`.
* :meth:`SliceParallelEnv.state`: the single-agent flat observation (for centralised critics).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from numpy.typing import NDArray
from pettingzoo import ParallelEnv  # type: ignore[import-untyped]  # pettingzoo ships no py.typed

from netslice.errors import InvalidAllocationError, NetsliceError
from netslice.intelligence.envs import render as rendering
from netslice.intelligence.envs.connection import AgentApi
from netslice.intelligence.envs.features import (
    ALLOC_START,
    N_SLICE_FEATURES,
    Encoder,
    Float32Array,
    FloatArray,
)
from netslice.intelligence.envs.options import (
    DEFAULT_COST_PENALTY,
    SCENARIO_LENGTH,
    EnvCore,
    EpisodeLength,
    clip_action,
)
from netslice.network import scenarios
from netslice.network.allocation import N_RESOURCES
from netslice.network.scenarios import Scenario
from netslice.orchestration.agent_api import Observation
from netslice.orchestration.orchestrator import Orchestrator

#: Length of one agent's observation: own slice block, time features, other slices' totals.
N_AGENT_FEATURES = N_SLICE_FEATURES + 2 + N_RESOURCES


class SliceParallelEnv(ParallelEnv, EnvCore):  # type: ignore[misc]  # ParallelEnv is untyped (Any) for mypy
    """One agent per slice over an orchestrator with one network (see the module card).

    Args:
        scenario: registered scenario name or loaded scenario.
        seed: seed of the orchestrator created here (episodes are re-seeded by ``reset(seed=...)``).
        orchestrator: drive this orchestrator (or client) instead of creating one; one network.
        encoder: observation encoder (default: built from the scenario).
        weights: ``(4,)`` domain weights of the rewards, default equal.
        backend: simulator backend of the orchestrator created here.
        slots_per_episode: slots per episode: ``"scenario"`` (the scenario's), an int, or ``None``.
        max_episode_steps: former name of ``slots_per_episode``; give one of the two.
        render_mode: ``None``, ``"ansi"`` or ``"rgb_array"``.
        reward: ``"usage"`` or ``"penalized"`` (see :mod:`.options`).
        cost_penalty: weight of the agent's SLA cost in the ``"penalized"`` reward.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012
        "name": "netslice_slicing_v0",
        "render_modes": list(rendering.RENDER_MODES),
        "render_fps": rendering.RENDER_FPS,
        "is_parallelizable": True,
    }

    def __init__(
        self,
        scenario: str | Scenario = "testbed-v0",
        seed: int | None = None,
        *,
        orchestrator: AgentApi | None = None,
        encoder: Encoder | None = None,
        weights: FloatArray | None = None,
        backend: str = "auto",
        slots_per_episode: EpisodeLength = SCENARIO_LENGTH,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        reward: str = "usage",
        cost_penalty: float = DEFAULT_COST_PENALTY,
    ) -> None:
        self._setup(
            scenario, seed, orchestrator=orchestrator, encoder=encoder, weights=weights, backend=backend,
            slots_per_episode=slots_per_episode, max_episode_steps=max_episode_steps, render_mode=render_mode,
            reward=reward, cost_penalty=cost_penalty,
        )  # fmt: skip
        self._slot_ids = [f"slice_{name}" for name in self.spaces.slices]
        later = range(1, (self.slots_per_episode or 0) + 1) if self._comes_and_goes() else range(0)
        self.possible_agents: list[str] = self._slot_ids + [f"{a}#{n}" for n in later for a in self._slot_ids]
        self._known = set(self.possible_agents)
        self.agents: list[str] = []
        g = self.encoder.observation_space()
        low = np.concatenate([g.low[:N_SLICE_FEATURES], g.low[-2:], np.zeros(N_RESOURCES, dtype=np.float32)])
        high = np.concatenate(
            [g.high[:N_SLICE_FEATURES], g.high[-2:], np.full(N_RESOURCES, max(self.n_slices - 1, 1), np.float32)]
        )
        self._obs_space = spaces.Box(low=low, high=high, dtype=np.float32)  # every agent's (the same object)
        self._act_space = spaces.Box(low=0.0, high=1.0, shape=(N_RESOURCES,), dtype=np.float32)
        self._tenure = np.zeros(self.n_slices, dtype=np.int64)  # per slot: how many of its agents ended this episode
        self.state_space = g
        self._t = 0
        self._last: Observation | None = None
        self._usage = np.zeros(len(self.spaces.domains))
        self._tenants_seen: tuple[str | None, ...] = (None,) * self.n_slices  # who the last observation showed

    def observation_space(self, agent: str) -> spaces.Box:
        """Observation space of ``agent`` (the same object on every call, for every agent).

        Raises:
            KeyError: ``agent`` is not one of ``possible_agents``.
        """
        self._check_agent(agent)
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Box:
        """Action space of ``agent`` (the same object on every call, for every agent).

        Raises:
            KeyError: ``agent`` is not one of ``possible_agents``.
        """
        self._check_agent(agent)
        return self._act_space

    def _check_agent(self, agent: str) -> None:
        if agent not in self._known:
            raise KeyError(f"agent {agent!r}: not one of this env's possible_agents")

    def _comes_and_goes(self) -> bool:
        """Whether the orchestrator's scenario has slices that arrive and leave (an ``arrivals`` section)."""
        if isinstance(self.orch, Orchestrator):
            return self.orch.scenario.spec.arrivals is not None
        try:  # a client: the scenario the server runs, by its registered name
            return scenarios.load(self.spaces.scenario).spec.arrivals is not None
        except NetsliceError:
            return False

    def _ids(self) -> list[str]:
        """The agent id of each slot's current (or next) slice: ``slice_<name>``, then ``slice_<name>#<n>``."""
        return [a if n == 0 else f"{a}#{n}" for a, n in zip(self._slot_ids, self._tenure.tolist(), strict=True)]

    def _register(self, agents: list[str]) -> list[str]:
        """``agents``, each added to ``possible_agents`` if it was not there (see the module card)."""
        for a in agents:
            if a not in self._known:
                self.possible_agents.append(a)
                self._known.add(a)
        return agents

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Float32Array], dict[str, dict[str, Any]]]:
        """Start a new episode (``seed`` re-seeds the simulator; ``options`` is unused)."""
        self._last = self.orch.reset(seed=seed)
        self._t = 0
        self._usage = np.zeros_like(self._usage)
        self._tenure[:] = 0
        present = np.asarray(self._last.active, dtype=bool)
        self._tenants_seen = self._tenants(present)
        ids = self._ids()
        self.agents = self._register([a for k, a in enumerate(ids) if present[k]])
        obs = self._agent_obs(self._last, present)
        return {ids[k]: obs[k] for k in range(self.n_slices) if present[k]}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[
        dict[str, Float32Array], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict[str, Any]]
    ]:  # fmt: skip
        """Run one slot under the agents' columns (missing agents keep their allocation in force)."""
        if not self.agents or self._last is None:
            raise ResetNeeded("step: the episode has ended (or never started); call reset()")
        live = self._live_active()
        before = self._tenants(live)
        alloc = np.array(self._last.allocation[0], dtype=np.float64, copy=True)  # (7, K)
        joined = live & ~np.asarray(self._last.active, dtype=bool)
        if joined.any():  # provisioned since the last observation: the allocation its admission put in force
            alloc[:, joined] = self._in_force(alloc)[:, joined]
        clip = np.zeros(self.n_slices)
        ids = self._ids()  # each slot's agent as the last observation named it
        for k, agent in enumerate(ids):
            if agent in actions:
                column = np.asarray(actions[agent], dtype=np.float64)
                if column.size != N_RESOURCES:
                    raise InvalidAllocationError(
                        f"action[{agent}]: expected {N_RESOURCES} values, got shape {column.shape}"
                    )
                alloc[:, k], clip[k] = clip_action(column.reshape(N_RESOURCES), name=f"action[{agent}]")
        result = self.orch.step(alloc[None])
        self._last = result.observation
        self._t += 1
        done = self.slots_per_episode is not None and self._t >= self.slots_per_episode
        now = np.asarray(result.observation.active, dtype=bool)
        after = self._tenants(now)
        kept = np.array([b is not None and b == a for b, a in zip(before, after, strict=True)])
        own = np.array([b is not None and b == s for b, s in zip(before, self._tenants_seen, strict=True)])
        self._tenants_seen = after
        live_sample = own  # the slice that ran the slot is the one whose agent acted on the last observation
        rewards = np.where(live_sample, self.encoder.slice_reward(result.kpis.slice_usage)[0], 0.0)
        info = self.encoder.info(result)
        cost = np.where(live_sample, info["cost"][0], 0.0)
        cost_raw = np.where(live_sample, info["cost_raw"][0], 0.0)
        self._usage = info["usage"][0].copy()
        usage_rewards = rewards
        if self.reward_kind != "usage":
            rewards = rewards - self.cost_penalty * cost
        slice_usage = np.where(live_sample, np.asarray(result.kpis.slice_usage, dtype=np.float64)[0], 0.0)  # (4, K)
        acting = set(self.agents)
        ends = np.array([a in acting and not (now[k] and kept[k] and own[k]) for k, a in enumerate(ids)])
        self._tenure += ends  # an ended agent's slot takes its next slice under a new id
        next_ids = self._ids()
        obs_k = self._agent_obs(result.observation, now, now & ~kept)
        # (agent, slot, acted): the agents that acted, in slot order, then the slices that joined.
        out = [(a, k, True) for k, a in enumerate(ids) if a in acting]
        joined = [(a, k) for k, a in enumerate(next_ids) if now[k] and a not in acting]
        self._register([a for a, _ in joined])
        out += [(a, k, False) for a, k in joined]
        obs = {a: obs_k[k] for a, k, _ in out}
        out_rewards = {a: float(rewards[k]) if acted else 0.0 for a, k, acted in out}
        infos: dict[str, dict[str, Any]] = {
            a: {"cost": float(cost[k]), "cost_raw": float(cost_raw[k]),
                "usage": slice_usage[:, k].copy(), "action_clipped": bool(clip[k] > 0.0),
                "action_clip": float(clip[k])} if acted else {}
            for a, k, acted in out
        }  # fmt: skip
        if self.reward_kind != "usage":
            for a, k, acted in out:
                if acted:
                    infos[a]["reward_usage"] = float(usage_rewards[k])
        terminations = {a: acted and bool(ends[k]) for a, k, acted in out}
        truncations = {a: done for a, _, _ in out}
        self.agents = [] if done else [a for a, _, _ in out if not terminations[a]]
        return obs, out_rewards, terminations, truncations, infos

    def state(self) -> Float32Array:
        """The global state: the single-agent flat observation of :mod:`.features`."""
        if self._last is None:
            raise ResetNeeded("state: call reset() first")
        state: Float32Array = self.encoder.encode(self._last)[0]
        return state

    def render(self) -> str | rendering.UInt8Array | None:
        """The network in ``render_mode`` (``None`` without a mode; see :mod:`.render`).

        Raises:
            ResetNeeded: nothing to show before the first ``reset``.
        """
        return rendering.render_observation(self.render_mode, self._last, 0, self.spaces.slices, self._usage)

    def close(self) -> None:
        """Nothing to release."""

    def _agent_obs(
        self, obs: Observation, present: NDArray[np.bool_] | None = None, fresh: NDArray[np.bool_] | None = None
    ) -> list[Float32Array]:
        """Each slot's agent observation (see the module card; absent slices read 0 and count in nobody's totals)."""
        per_slice = self.encoder.slice_features(obs)[0]  # (K, 14)
        if present is not None:
            valid = present if fresh is None else present & ~fresh
            if not valid.all():
                per_slice = np.where(valid[:, None], per_slice, 0.0)
        time = self.encoder.time_features(obs.hour)[0]  # (2,)
        alloc = per_slice[:, ALLOC_START : ALLOC_START + N_RESOURCES]  # (K, 7)
        others = alloc.sum(axis=0)[None, :] - alloc  # (K, 7)
        high = float(max(self.n_slices - 1, 1))
        out = []
        for k in range(self.n_slices):
            if present is not None and not present[k]:
                out.append(np.zeros(N_AGENT_FEATURES, dtype=np.float32))
                continue
            vec = np.concatenate([per_slice[k], time, np.clip(others[k], 0.0, high)])
            out.append(vec.astype(np.float32))
        return out

    def _live_active(self) -> NDArray[np.bool_]:
        """``(K,)`` the slices provisioned now (the orchestrator's, else its latest observation's)."""
        live = getattr(self.orch, "active", None)
        assert self._last is not None
        return np.asarray(live if live is not None else self._last.active, dtype=bool)

    def _tenants(self, active: NDArray[np.bool_]) -> tuple[str | None, ...]:
        """Who holds each slot: the slice id (in-process), ``""`` (provisioned, id unknown) or ``None`` (nobody)."""
        ids: dict[int, str] = {}
        if isinstance(self.orch, Orchestrator):
            ids = {r.index: sid for sid, r in self.orch.records.items()}
        return tuple((ids.get(k, "") if bool(a) else None) for k, a in enumerate(active))

    def _in_force(self, fallback: FloatArray) -> FloatArray:
        """``(7, K)`` the allocation the domain managers hold in force (in-process), else ``fallback``."""
        if not isinstance(self.orch, Orchestrator):
            return fallback
        out: FloatArray = self.orch.in_force()[0]
        return out
