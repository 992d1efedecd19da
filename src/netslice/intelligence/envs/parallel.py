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
* Rendering: ``render_mode="ansi"`` or ``"rgb_array"``, the network as in :mod:`.render`.
* :meth:`SliceParallelEnv.state`: the single-agent flat observation (for centralised critics).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from pettingzoo import ParallelEnv  # type: ignore[import-untyped]  # pettingzoo ships no py.typed

from netslice.errors import InvalidAllocationError
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
from netslice.network.allocation import N_RESOURCES
from netslice.network.scenarios import Scenario
from netslice.orchestration.agent_api import Observation

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
        self.possible_agents: list[str] = [f"slice_{name}" for name in self.spaces.slices]
        self.agents: list[str] = []
        g = self.encoder.observation_space()
        low = np.concatenate([g.low[:N_SLICE_FEATURES], g.low[-2:], np.zeros(N_RESOURCES, dtype=np.float32)])
        high = np.concatenate(
            [g.high[:N_SLICE_FEATURES], g.high[-2:], np.full(N_RESOURCES, max(self.n_slices - 1, 1), np.float32)]
        )
        self._obs_spaces = {a: spaces.Box(low=low, high=high, dtype=np.float32) for a in self.possible_agents}
        self._act_spaces = {
            a: spaces.Box(low=0.0, high=1.0, shape=(N_RESOURCES,), dtype=np.float32) for a in self.possible_agents
        }
        self.state_space = g
        self._t = 0
        self._last: Observation | None = None
        self._usage = np.zeros(len(self.spaces.domains))

    def observation_space(self, agent: str) -> spaces.Box:
        """Observation space of ``agent`` (the same object on every call)."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        """Action space of ``agent`` (the same object on every call)."""
        return self._act_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Float32Array], dict[str, dict[str, Any]]]:
        """Start a new episode (``seed`` re-seeds the simulator; ``options`` is unused)."""
        self._last = self.orch.reset(seed=seed)
        self._t = 0
        self._usage = np.zeros_like(self._usage)
        self.agents = list(self.possible_agents)
        return self._agent_obs(self._last), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[
        dict[str, Float32Array], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict[str, Any]]
    ]:  # fmt: skip
        """Run one slot under the agents' columns (missing agents keep their allocation in force)."""
        if not self.agents or self._last is None:
            raise ResetNeeded("step: the episode has ended (or never started); call reset()")
        alloc = np.array(self._last.allocation[0], dtype=np.float64, copy=True)  # (7, K)
        clip = np.zeros(self.n_slices)
        for k, agent in enumerate(self.possible_agents):
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
        rewards = self.encoder.slice_reward(result.kpis.slice_usage)[0]
        info = self.encoder.info(result)
        self._usage = info["usage"][0].copy()
        usage_rewards = rewards
        if self.reward_kind != "usage":
            rewards = rewards - self.cost_penalty * info["cost"][0]
        slice_usage = np.asarray(result.kpis.slice_usage, dtype=np.float64)[0]  # (4, K)
        agents = self.agents
        obs = self._agent_obs(result.observation)
        out_rewards = {a: float(rewards[k]) for k, a in enumerate(self.possible_agents) if a in agents}
        infos = {
            a: {"cost": float(info["cost"][0, k]), "cost_raw": float(info["cost_raw"][0, k]),
                "usage": slice_usage[:, k].copy(), "action_clipped": bool(clip[k] > 0.0),
                "action_clip": float(clip[k])}
            for k, a in enumerate(self.possible_agents) if a in agents
        }  # fmt: skip
        if self.reward_kind != "usage":
            for k, a in enumerate(self.possible_agents):
                if a in infos:
                    infos[a]["reward_usage"] = float(usage_rewards[k])
        terminations = dict.fromkeys(agents, False)
        truncations = dict.fromkeys(agents, done)
        if done:
            self.agents = []
        return {a: obs[a] for a in agents}, out_rewards, terminations, truncations, infos

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

    def _agent_obs(self, obs: Observation) -> dict[str, Float32Array]:
        """Each agent's observation (see the module card)."""
        per_slice = self.encoder.slice_features(obs)[0]  # (K, 14)
        time = self.encoder.time_features(obs.hour)[0]  # (2,)
        alloc = per_slice[:, ALLOC_START : ALLOC_START + N_RESOURCES]  # (K, 7)
        others = alloc.sum(axis=0)[None, :] - alloc  # (K, 7)
        high = float(max(self.n_slices - 1, 1))
        out = {}
        for k, agent in enumerate(self.possible_agents):
            vec = np.concatenate([per_slice[k], time, np.clip(others[k], 0.0, high)])
            out[agent] = vec.astype(np.float32)
        return out
