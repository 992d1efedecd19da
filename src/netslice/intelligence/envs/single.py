"""Single-network environment: a :class:`gymnasium.Env` over an orchestrator with one network.

Card (``netslice/Slicing-v0``; make() kwargs ``scenario``, ``reward``, ``cost_penalty``, ``action``,
``weights``, ``backend``, ``include_kpis``, ``slots_per_episode``, ``render_mode``)::

    env = gymnasium.make("netslice/Slicing-v0")                   # testbed-v0, penalized reward, 24 slots
    env = gymnasium.make("netslice/Slicing-v0", reward="usage")   # constrained: reward -usage, cost apart
    env = gymnasium.make("netslice/Slicing-v0", max_episode_steps=48)  # 48-slot episodes

* Observation: ``Box((14 K + 2,), float32)`` in the layout of :mod:`.features` (K slices).
* Action: the registered id wraps the env in :class:`~.wrappers.ScaledShareAction` by default
  (``action="scaled"``: ``Box(-5, 5, (7 K,))`` mapped to shares on a log scale, see
  :mod:`.registration`); the class itself and ``action="share"`` take shares directly:
  ``Box(0, 1, (7 K,), float32)``, resource-major: entry ``r * K + k`` is row ``r``
  (prb_ul, prb_dl, mcs_ul, mcs_dl, tn_bw, cn_cpu, edge_cpu) of slice ``k``. Values outside [0, 1]
  are clipped to the box (``info["action_clipped"]`` tells, ``info["action_clip"]`` by how much);
  NaN or infinite values are an :class:`~netslice.errors.InvalidAllocationError`. Over-capacity
  actions are scaled down proportionally by the orchestrator (``info["modified"]``).
* Reward (:mod:`.options`): ``reward="penalized"`` (the registered id's default):
  ``-usage - cost_penalty * sum_k cost_k`` (``cost_penalty`` 8 by default), what a plain RL
  library should maximise; ``reward="usage"`` (the class default): ``-usage``, the weighted mean
  usage of the four domains (equal weights by default), with the SLA cost apart in ``info["cost"]``
  for constrained (safe-RL) learners.
* Cost: ``info["cost"]`` ``(K,)``, the SLA cost of each slice clipped to [0, 1], slice order;
  also ``info["cost_raw"]``, ``info["usage"]`` ``(4,)``, ``info["modified"]``, optionally
  ``info["kpis"]``; with ``reward="penalized"`` also ``info["reward_usage"]`` (``-usage``).
* Episode end: never ``terminated``; ``truncated=True`` after ``slots_per_episode`` slots (the
  class default ``"scenario"``: the scenario's day, 24 slots for testbed-v0, 96 for city-v0). The
  registered id passes ``slots_per_episode=None`` (the env never truncates by itself) and lets
  :func:`gymnasium.make`'s :class:`~gymnasium.wrappers.TimeLimit` end episodes: 24 slots by
  default (the spec's ``max_episode_steps``, testbed-v0's day), ``max_episode_steps=n`` for ``n``
  (pass 96 for a day of city-v0 or metro-v0). Step again only after ``reset``.
* Rendering: ``render_mode="ansi"`` (text table of the allocation, SLA status and domain usage)
  or ``"rgb_array"`` (the same as a small ``uint8`` picture, :mod:`.render`).
* Seeding: ``reset(seed=s)`` re-seeds the simulator; ``reset()`` continues its generator.
* Version history: v0 -- first version (the ``reward``, ``cost_penalty``, ``slots_per_episode``
  and ``render_mode`` options, action clipping and the TimeLimit-driven length were added
  without changing the ``reward="usage"`` dynamics).
"""

from __future__ import annotations

from typing import Any, cast

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from netslice.intelligence.envs import render as rendering
from netslice.intelligence.envs.connection import AgentApi
from netslice.intelligence.envs.features import Encoder, Float32Array, FloatArray, to_allocation
from netslice.intelligence.envs.options import (
    DEFAULT_COST_PENALTY,
    SCENARIO_LENGTH,
    EnvCore,
    EpisodeLength,
    clip_action,
    shape_reward,
)
from netslice.network.scenarios import Scenario


class SliceEnv(gymnasium.Env[Float32Array, Float32Array], EnvCore):
    """One simulated network as a Gymnasium env (see the module card).

    Args:
        scenario: registered scenario name or loaded scenario.
        seed: seed of the orchestrator created here (episodes are re-seeded by ``reset(seed=...)``).
        orchestrator: drive this orchestrator (or client) instead of creating one; it must run one network.
        encoder: observation encoder (default: built from the scenario).
        weights: ``(4,)`` domain weights of the reward, default equal.
        backend: simulator backend of the orchestrator created here.
        include_kpis: add the raw KPIs to ``info["kpis"]``.
        slots_per_episode: slots after which the env truncates: ``"scenario"`` (the scenario's
            ``slots_per_episode``), an int, or ``None`` (never; a ``TimeLimit`` wrapper ends episodes).
        max_episode_steps: former name of ``slots_per_episode`` (``gymnasium.make`` consumes this
            name for its ``TimeLimit``); give one of the two.
        render_mode: ``None``, ``"ansi"`` or ``"rgb_array"``.
        reward: ``"usage"`` (``-usage``, cost apart) or ``"penalized"`` (see :mod:`.options`).
        cost_penalty: weight of the summed SLA cost in the ``"penalized"`` reward.
    """

    metadata: dict[str, Any] = {"render_modes": list(rendering.RENDER_MODES), "render_fps": rendering.RENDER_FPS}  # noqa: RUF012

    def __init__(
        self,
        scenario: str | Scenario = "testbed-v0",
        seed: int | None = None,
        *,
        orchestrator: AgentApi | None = None,
        encoder: Encoder | None = None,
        weights: FloatArray | None = None,
        backend: str = "auto",
        include_kpis: bool = False,
        slots_per_episode: EpisodeLength = SCENARIO_LENGTH,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        reward: str = "usage",
        cost_penalty: float = DEFAULT_COST_PENALTY,
    ) -> None:
        self._setup(
            scenario, seed, orchestrator=orchestrator, encoder=encoder, weights=weights, backend=backend,
            include_kpis=include_kpis, slots_per_episode=slots_per_episode, max_episode_steps=max_episode_steps,
            render_mode=render_mode, reward=reward, cost_penalty=cost_penalty,
        )  # fmt: skip
        # Box() infers a floating-or-integer dtype for mypy; these boxes are float32.
        self.observation_space = cast("spaces.Space[Float32Array]", self.encoder.observation_space())
        self.action_space = cast("spaces.Space[Float32Array]", self.encoder.action_space())
        self._t = 0
        self._done = True
        self._last_obs: Any = None
        self._last_usage = np.zeros(len(self.spaces.domains))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Float32Array, dict[str, Any]]:
        """Start a new episode (``seed`` re-seeds the simulator; ``options`` is unused)."""
        super().reset(seed=seed)
        obs = self.orch.reset(seed=seed)
        self._t, self._done = 0, False
        self._last_obs, self._last_usage = obs, np.zeros_like(self._last_usage)
        return self.encoder.encode(obs)[0], {}

    def step(self, action: Float32Array) -> tuple[Float32Array, float, bool, bool, dict[str, Any]]:
        """Run one slot under ``action`` (``(7 K,)``, clipped to [0, 1], resource-major)."""
        if self._done:
            raise ResetNeeded("step: the episode has ended (or never started); call reset()")
        alloc = to_allocation(action, 1, self.n_slices)
        flat, clip = clip_action(alloc.reshape(-1))
        result = self.orch.step(flat.reshape(alloc.shape))
        self._t += 1
        truncated = self.slots_per_episode is not None and self._t >= self.slots_per_episode
        self._done = truncated
        encoded, info = self.encoder.step_outputs(result, env=0)
        clip_size = float(clip)
        info["action_clipped"], info["action_clip"] = clip_size > 0.0, clip_size
        usage_reward = self.encoder.reward(result.usage)
        # The reward of the batch of one, from the batched clipped cost (info["cost"] is its row 0).
        reward = float(shape_reward(usage_reward, info["cost"][None], self.reward_kind, self.cost_penalty)[0])
        if self.reward_kind != "usage":
            info["reward_usage"] = float(usage_reward[0])
        self._last_obs, self._last_usage = result.observation, info["usage"]
        return encoded[0], reward, False, truncated, info

    def render(self) -> str | rendering.UInt8Array | None:
        """The current slot in ``render_mode`` (``None`` without a mode; see :mod:`.render`).

        Raises:
            ResetNeeded: nothing to show before the first ``reset``.
        """
        return rendering.render_observation(self.render_mode, self._last_obs, 0, self.spaces.slices, self._last_usage)
