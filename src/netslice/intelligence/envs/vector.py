"""Native batched environment: one orchestrator steps ``num_envs`` networks in one call.

:class:`SliceVectorEnv` is a :class:`gymnasium.vector.VectorEnv` over the orchestrator's agent
API; no Python loop over envs runs in a step.

Card (``gymnasium.make_vec("netslice/Slicing-v0", num_envs=n)`` builds it through
:func:`.registration.make_vector`: penalized reward, ``NEXT_STEP`` autoreset and, with the default
``action="scaled"``, wrapped in :class:`~.wrappers.ScaledShareVectorAction` (``unwrapped`` is the
SliceVectorEnv); the class itself defaults to the ``"usage"`` reward, the share box and ``SAME_STEP``,
what netslice's PPO and evaluation use)::

    envs = gymnasium.make_vec("netslice/Slicing-v0", num_envs=8)   # vector_entry_point mode
    envs = gymnasium.make_vec("netslice/Slicing-v0", num_envs=8, autoreset_mode="same-step")

* Observation: ``(num_envs, 14 K + 2)`` float32 in the layout of :mod:`.features`.
* Action: ``(num_envs, 7 K)`` in [0, 1], resource-major (entry ``r * K + k`` is resource row ``r``
  of slice ``k``). Values outside [0, 1] are clipped (``info["action_clipped"]`` ``(num_envs,)``
  bool, ``info["action_clip"]`` the largest clip per env); non-finite values are an
  :class:`~netslice.errors.InvalidAllocationError`; over-capacity actions are scaled down
  proportionally by the orchestrator (``info["modified"]`` tells where).
* Reward (:mod:`.options`): ``reward="usage"``: minus the weighted mean domain usage;
  ``reward="penalized"``: that minus ``cost_penalty`` times the summed clipped SLA cost (then
  ``info["reward_usage"]`` holds the first). ``info["cost"]`` ``(num_envs, K)``: the SLA cost
  clipped to [0, 1], columns in slice order; ``info["cost_raw"]``, ``info["usage"]``,
  ``info["modified"]``, optionally ``info["kpis"]``. These entries describe the slot just run,
  aligned with the rewards.
* Episodes: ``max_episode_steps`` slots (make_vec passes the spec's 24 or the caller's value), else
  ``slots_per_episode`` (default the scenario's day; ``None``: never truncate); an episode ends
  with ``truncated=True`` (a time limit, never ``terminated``).
* Autoreset (``autoreset_mode``, a :class:`gymnasium.vector.AutoresetMode` or its value, also in
  ``metadata["autoreset_mode"]``):

  - ``NEXT_STEP``: the step that ends an episode returns its last observation; the next
    ``step`` resets those envs instead of running them (their action is ignored, reward 0,
    ``terminated``/``truncated`` False, their info rows zero with ``_key`` masks False). This is
    what Gymnasium's vector wrappers and RLlib assume.
  - ``SAME_STEP``: where an episode ends the returned observation is already the first of the
    next episode (reset through ``orchestrator.reset(mask=...)`` in the same step); the last one
    is in ``info["final_obs"]`` (object array, ``None`` where no episode ended, mask
    ``info["_final_obs"]``) and the step's info in ``info["final_info"]`` (batched, ``_key``
    masks), as :class:`gymnasium.vector.SyncVectorEnv` does in this mode. Bootstrap truncated
    episodes from ``final_obs``. Gymnasium's vector wrappers refuse this mode.
  - ``DISABLED``: no autoreset; stepping an env whose episode ended raises
    :class:`~gymnasium.error.ResetNeeded`: reset it with ``reset(options={"reset_mask": m})``.

  With all envs in step (the default), ``NEXT_STEP`` and ``SAME_STEP`` give the same episodes
  for the same seed.
* Seeding: ``reset(seed=s)`` re-seeds the orchestrator's one random generator (same ``s``, same
  rollouts); ``reset(seed=[s_0, ..., s_{n-1}])`` seeds it from the whole list (same list, same
  rollouts; one generator serves the batch, so env ``i`` does not depend on ``s_i`` alone; all
  ``None`` is the same as no seed); ``reset()`` continues it. ``reset(options={"reset_mask": m})``
  resets only the envs in ``m``.
* Rendering: ``render_mode="ansi"`` or ``"rgb_array"``: :meth:`SliceVectorEnv.render` returns a
  tuple with one frame per env (:mod:`.render`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from gymnasium.error import ResetNeeded
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.envs import render as rendering
from netslice.intelligence.envs.connection import AgentApi
from netslice.intelligence.envs.features import Encoder, Float32Array, FloatArray, to_allocation
from netslice.intelligence.envs.options import (
    DEFAULT_COST_PENALTY,
    SCENARIO_LENGTH,
    EnvCore,
    EpisodeLength,
    clip_action,
    parse_autoreset_mode,
    shape_reward,
)
from netslice.network.scenarios import Scenario


class SliceVectorEnv(VectorEnv[Float32Array, FloatArray, NDArray[Any]], EnvCore):
    """Batched slicing environment over one orchestrator (see the module docstring).

    Args:
        num_envs: networks simulated side by side (ignored when ``orchestrator`` is given).
        scenario: registered scenario name or loaded scenario.
        seed: seed of the orchestrator created here (episodes are re-seeded by ``reset(seed=...)``).
        orchestrator: drive this orchestrator (or client) instead of creating one.
        encoder: observation encoder (default: built from the scenario).
        weights: ``(4,)`` domain weights of the reward (ran, tn, cn, edge), default equal.
        backend: simulator backend of the orchestrator created here.
        include_kpis: add the raw KPIs to ``info["kpis"]``.
        max_episode_steps: slots per episode, the time limit :func:`gymnasium.make_vec` passes
            (overrides ``slots_per_episode``).
        slots_per_episode: slots per episode without ``max_episode_steps``: ``"scenario"`` (the
            scenario's ``slots_per_episode``), an int, or ``None`` (never truncate).
        autoreset_mode: ``SAME_STEP`` (default), ``NEXT_STEP`` or ``DISABLED`` (or their values).
        reward: ``"usage"`` or ``"penalized"`` (see :mod:`.options`).
        cost_penalty: weight of the summed SLA cost in the ``"penalized"`` reward.
        render_mode: ``None``, ``"ansi"`` or ``"rgb_array"``.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": list(rendering.RENDER_MODES),
        "render_fps": rendering.RENDER_FPS,
    }

    def __init__(
        self,
        num_envs: int | None = None,
        scenario: str | Scenario = "testbed-v0",
        seed: int | None = None,
        *,
        orchestrator: AgentApi | None = None,
        encoder: Encoder | None = None,
        weights: FloatArray | None = None,
        backend: str = "auto",
        include_kpis: bool = False,
        max_episode_steps: int | None = None,
        slots_per_episode: EpisodeLength = SCENARIO_LENGTH,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        reward: str = "usage",
        cost_penalty: float = DEFAULT_COST_PENALTY,
        render_mode: str | None = None,
    ) -> None:
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self._setup(
            scenario, seed, vector=True, num_envs=num_envs, orchestrator=orchestrator, encoder=encoder,
            weights=weights, backend=backend, include_kpis=include_kpis, slots_per_episode=slots_per_episode,
            max_episode_steps=max_episode_steps, render_mode=render_mode, reward=reward, cost_penalty=cost_penalty,
        )  # fmt: skip
        self.num_envs = self.spaces.n_envs
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.single_observation_space = self.encoder.observation_space()
        self.single_action_space = self.encoder.action_space()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._t = np.zeros(self.num_envs, dtype=np.int64)
        self._ended = np.zeros(self.num_envs, dtype=bool)  # episode over, not yet reset (NEXT_STEP, DISABLED)
        self._obs: Float32Array | None = None
        self._last_action: FloatArray | None = None
        self._last_info: dict[str, Any] = {}
        self._usage = np.zeros((self.num_envs, len(self.spaces.domains)))

    @property
    def max_episode_steps(self) -> int:
        """Slots per episode: :attr:`slots_per_episode`, or the scenario's day where that is ``None``."""
        return self.spaces.slots_per_episode if self.slots_per_episode is None else self.slots_per_episode

    @property
    def episode_slot(self) -> NDArray[np.int64]:
        """``(num_envs,)`` slots run in each env's current episode."""
        return self._t.copy()

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Float32Array, dict[str, Any]]:
        """Start new episodes in every env (or those in ``options["reset_mask"]``).

        Args:
            seed: one seed for the batch, or one per env (both re-seed the orchestrator's one
                random generator; see the module docstring).
            options: ``{"reset_mask": (num_envs,) bool}`` to reset only some envs.

        Returns:
            The observations ``(num_envs, n_features)`` and an empty info dict.

        Raises:
            ConfigError: a seed list of the wrong length or with a negative or non-int entry, or a
                bad mask.
        """
        if isinstance(seed, list | tuple):
            seed = _combined_seed(seed, self.num_envs)
        if seed is not None:
            self._np_random, self._np_random_seed = seeding.np_random(seed)
        mask = None if options is None else options.get("reset_mask")
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.num_envs,):
                raise ConfigError(f"options.reset_mask: shape must be ({self.num_envs},), got {mask.shape}")
            if self._obs is None:
                raise ResetNeeded("options.reset_mask: the first reset must reset every env")
        encoded = self.encoder.encode(replace(self.orch.reset(seed=seed, mask=mask), kpis=None))
        if mask is None or self._obs is None:
            self._t[:] = 0
            self._ended[:] = False
            self._usage[:] = 0.0
            self._obs = encoded
        else:
            self._t[mask] = 0
            self._ended[mask] = False
            self._usage[mask] = 0.0
            self._obs = np.where(mask[:, None], encoded, self._obs)
        return self._obs.copy(), {}

    def step(
        self, actions: FloatArray
    ) -> tuple[Float32Array, FloatArray, NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """Run one slot in every env, auto-resetting envs whose episode ends (per ``autoreset_mode``).

        Args:
            actions: ``(num_envs, 7 K)``, clipped to [0, 1], resource-major.

        Returns:
            ``(observations, rewards, terminated, truncated, info)`` (see the module docstring).

        Raises:
            ResetNeeded: before the first reset, or (``DISABLED``) an env's episode has ended.
            InvalidAllocationError: actions of the wrong size, or non-finite.
        """
        if self._obs is None:
            raise ResetNeeded("step: call reset() first")
        if self.autoreset_mode == AutoresetMode.DISABLED and self._ended.any():
            ended = np.flatnonzero(self._ended).tolist()
            raise ResetNeeded(f"step: envs {ended} ended their episode and autoreset_mode is DISABLED; "
                              "reset them: reset(options={'reset_mask': mask})")  # fmt: skip
        if self.autoreset_mode != AutoresetMode.NEXT_STEP:
            return self._run(actions)
        if self._ended.any():
            return self._next_step_reset(actions, self._ended.copy())
        obs, reward, terminated, truncated, info = self._run(actions)
        return obs, reward, terminated, truncated, _with_masks(info, np.ones(self.num_envs, dtype=bool))

    def _run(
        self, actions: FloatArray, pending: NDArray[np.bool_] | None = None
    ) -> tuple[Float32Array, FloatArray, NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """One slot in every env (``pending`` envs run on their last action; the caller resets them)."""
        alloc, clip = clip_action(to_allocation(actions, self.num_envs, self.n_slices).reshape(self.num_envs, -1))
        if pending is not None and self._last_action is not None:
            alloc = np.where(pending[:, None], self._last_action, alloc)
            clip = np.where(pending, 0.0, clip)
        self._last_action = alloc
        result = self.orch.step(alloc.reshape(self.num_envs, -1, self.n_slices))
        self._t += 1
        obs, info = self.encoder.step_outputs(result)
        info["action_clipped"], info["action_clip"] = clip > 0.0, clip
        usage_reward = self.encoder.reward(result.usage)
        reward = shape_reward(usage_reward, info["cost"], self.reward_kind, self.cost_penalty)
        if self.reward_kind != "usage":
            info["reward_usage"] = usage_reward
        self._usage = info["usage"].copy()
        self._last_info = info
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = (
            self._t >= self.slots_per_episode if self.slots_per_episode is not None else np.zeros_like(terminated)
        )
        if self.autoreset_mode == AutoresetMode.SAME_STEP and truncated.any():
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(truncated):
                final_obs[i] = obs[i].copy()
            final_info = _masked(info, truncated)
            info["final_obs"], info["_final_obs"] = final_obs, truncated.copy()
            info["final_info"], info["_final_info"] = final_info, truncated.copy()
            # The reset envs start a new episode with nothing measured yet: encode them without KPIs.
            fresh = self.encoder.encode(replace(self.orch.reset(mask=truncated), kpis=None))
            obs = np.where(truncated[:, None], fresh, obs)
            self._t[truncated] = 0
            self._usage[truncated] = 0.0
        else:
            self._ended |= truncated
        self._obs = obs
        return obs.copy(), reward, terminated, truncated, info

    def _next_step_reset(
        self, actions: FloatArray, pending: NDArray[np.bool_]
    ) -> tuple[Float32Array, FloatArray, NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """NEXT_STEP: reset the ``pending`` envs, run the others (see the module docstring)."""
        if pending.all():  # every episode ended together: nothing to run, only reset
            obs, _ = self.reset(options={"reset_mask": pending})
            reward = np.zeros(self.num_envs)
            info = _blank(self._last_info, pending)
            none = np.zeros(self.num_envs, dtype=bool)
            return obs, reward, none, none.copy(), info
        obs, reward, terminated, truncated, info = self._run(actions, pending)
        self._t[pending] = 0
        fresh, _ = self.reset(options={"reset_mask": pending})
        obs = np.where(pending[:, None], fresh, obs)
        reward = np.where(pending, 0.0, reward)
        terminated[pending] = False
        truncated[pending] = False
        return obs, reward, terminated, truncated, _blank(info, pending)

    def render(self) -> tuple[Any, ...] | None:
        """One frame per env in ``render_mode`` (``None`` without a mode; see :mod:`.render`).

        Raises:
            ResetNeeded: nothing to show before the first ``reset``.
        """
        if self.render_mode is None:
            return None
        if self._obs is None:
            raise ResetNeeded("render: call reset() first")
        obs = self.orch.observation()
        return tuple(
            rendering.render(rendering.observation_frame(obs, i, self.spaces.slices, self._usage[i]), self.render_mode)
            for i in range(self.num_envs)
        )

    # ------------------------------------------------------------------------------------ checkpoints

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue the rollouts later (in-process orchestrator only).

        Raises:
            ConfigError: the orchestrator is remote (its state cannot be captured here).
        """
        return {
            "orchestrator": self._pickled_orchestrator(),
            "t": self._t.copy(),
            "obs": None if self._obs is None else self._obs.copy(),
        }

    def restore(self, snap: dict[str, Any]) -> None:
        """Continue from a :meth:`snapshot` (the orchestrator object is updated in place).

        Raises:
            ConfigError: the snapshot comes from another scenario or batch size.
        """
        self._restore_orchestrator(snap["orchestrator"])
        self._t = np.asarray(snap["t"], dtype=np.int64).copy()
        self._obs = None if snap["obs"] is None else np.asarray(snap["obs"], dtype=np.float32).copy()


def _masked(info: dict[str, Any], mask: NDArray[np.bool_]) -> dict[str, Any]:
    """A copy of a batched info dict with a ``_key`` mask next to every key (nested dicts too)."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        out[key] = _masked(value, mask) if isinstance(value, dict) else np.array(value, copy=True)
        out[f"_{key}"] = mask.copy()
    return out


def _blank(info: dict[str, Any], reset: NDArray[np.bool_]) -> dict[str, Any]:
    """NEXT_STEP info: the rows of the envs reset in this step zeroed, with ``_key`` masks (False there)."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        if key.startswith("_") or key in ("final_obs", "final_info"):
            continue
        if isinstance(value, dict):
            out[key] = _blank(value, reset)
        else:
            arr = np.array(value, copy=True)
            arr[reset] = 0
            out[key] = arr
        out[f"_{key}"] = ~reset
    return out


def _with_masks(info: dict[str, Any], mask: NDArray[np.bool_]) -> dict[str, Any]:
    """``info`` with a ``_key`` mask (a copy of ``mask``) next to every key (nested dicts too); no copies."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        out[key] = _with_masks(value, mask) if isinstance(value, dict) else value
        out[f"_{key}"] = mask.copy()
    return out


def _combined_seed(seeds: list[int | None] | tuple[int | None, ...], num_envs: int) -> int | None:
    """One generator seed from one seed per env (``None`` when every entry is ``None``).

    Raises:
        ConfigError: a list of the wrong length, or an entry that is not a non-negative int or None.
    """
    if len(seeds) != num_envs:
        raise ConfigError(f"seed: a list needs one entry per env ({num_envs}), got {len(seeds)}")
    for i, s in enumerate(seeds):
        if s is not None and (isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0):
            raise ConfigError(f"seed[{i}]: must be a non-negative int or None, got {s!r}")
    if all(s is None for s in seeds):
        return None
    entropy = [0 if s is None else int(s) + 1 for s in seeds]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint32)[0])
