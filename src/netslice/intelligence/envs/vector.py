"""Native batched environment: one orchestrator steps ``num_envs`` networks in one call.

:class:`SliceVectorEnv` is a :class:`gymnasium.vector.VectorEnv` over the orchestrator's agent
API; no Python loop over envs runs in a step.

* Observation: ``(num_envs, 14 K + 2)`` float32 in the layout of :mod:`.features`.
* Action: ``(num_envs, 7 K)`` in [0, 1], resource-major (entry ``r * K + k`` is resource row ``r``
  of slice ``k``). Values outside [0, 1] or non-finite are rejected by the orchestrator
  (:class:`~netslice.errors.InvalidAllocationError`); over-capacity actions are scaled down
  proportionally by it (``info["modified"]`` tells where).
* Reward: minus the weighted mean domain usage; ``info["cost"]`` ``(num_envs, K)``: the SLA cost
  clipped to [0, 1], columns in slice order; ``info["cost_raw"]``, ``info["usage"]``,
  ``info["modified"]``, optionally ``info["kpis"]``. These top-level entries describe the slot just
  run for every env, aligned with the rewards, also for envs that were reset in the same step.
* Episodes: ``slots_per_episode`` slots (one day by default); an episode ends with
  ``truncated=True`` (it is a time limit, never ``terminated``).
* Autoreset: :attr:`gymnasium.vector.AutoresetMode.SAME_STEP`. Where an episode ends, the
  returned observation is already the first one of the next episode (the env is reset through
  ``orchestrator.reset(mask=...)`` in the same step); the last observation of the finished episode
  is in ``info["final_obs"]`` (object array, ``None`` for envs that did not finish, mask
  ``info["_final_obs"]``) and the step's info in ``info["final_info"]`` (batched, with ``_key``
  masks), as :class:`gymnasium.vector.SyncVectorEnv` does in this mode. Bootstrap the value of a
  truncated episode from ``final_obs``.
* Seeding: ``reset(seed=s)`` re-seeds the orchestrator's one random generator (same ``s``, same
  rollouts); ``reset()`` continues it. ``reset(options={"reset_mask": m})`` resets only the envs in
  ``m``.
"""

from __future__ import annotations

import pickle
from dataclasses import replace
from typing import Any

import numpy as np
from gymnasium.error import ResetNeeded
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.envs.features import (
    AgentApi,
    Encoder,
    Float32Array,
    FloatArray,
    connect,
    to_allocation,
)
from netslice.network.scenarios import Scenario
from netslice.orchestration.orchestrator import Orchestrator


class SliceVectorEnv(VectorEnv[Float32Array, FloatArray, NDArray[Any]]):
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
        max_episode_steps: slots per episode (default: the scenario's ``slots_per_episode``).
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}  # noqa: RUF012

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
    ) -> None:
        self.orch, self.encoder, sp = connect(
            scenario, 1 if num_envs is None else num_envs, seed,
            orchestrator=orchestrator, encoder=encoder, weights=weights, backend=backend, include_kpis=include_kpis,
        )  # fmt: skip
        if num_envs is not None and num_envs != sp.n_envs:
            raise ConfigError(f"num_envs: the orchestrator runs {sp.n_envs} networks, got num_envs={num_envs}")
        self.spaces = sp
        self.num_envs = sp.n_envs
        self.n_slices = len(sp.slices)
        self.max_episode_steps = sp.slots_per_episode if max_episode_steps is None else int(max_episode_steps)
        if self.max_episode_steps < 1:
            raise ConfigError(f"max_episode_steps: must be >= 1, got {self.max_episode_steps}")
        self.single_observation_space = self.encoder.observation_space()
        self.single_action_space = self.encoder.action_space()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = None
        self._t = np.zeros(self.num_envs, dtype=np.int64)
        self._obs: Float32Array | None = None

    @property
    def episode_slot(self) -> NDArray[np.int64]:
        """``(num_envs,)`` slots run in each env's current episode."""
        return self._t.copy()

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Float32Array, dict[str, Any]]:
        """Start new episodes in every env (or those in ``options["reset_mask"]``).

        Args:
            seed: one seed for the batch: re-seeds the orchestrator's random generator.
            options: ``{"reset_mask": (num_envs,) bool}`` to reset only some envs.

        Returns:
            The observations ``(num_envs, n_features)`` and an empty info dict.

        Raises:
            ConfigError: a list of seeds (one generator serves the whole batch) or a bad mask.
        """
        if isinstance(seed, list):
            raise ConfigError("seed: one int seeds the whole batch (one orchestrator random generator), got a list")
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
            self._obs = encoded
        else:
            self._t[mask] = 0
            self._obs = np.where(mask[:, None], encoded, self._obs)
        return self._obs.copy(), {}

    def step(
        self, actions: FloatArray
    ) -> tuple[Float32Array, FloatArray, NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """Run one slot in every env, auto-resetting envs whose episode ends (SAME_STEP).

        Args:
            actions: ``(num_envs, 7 K)`` in [0, 1], resource-major.

        Returns:
            ``(observations, rewards, terminated, truncated, info)`` (see the module docstring).
        """
        if self._obs is None:
            raise ResetNeeded("step: call reset() first")
        result = self.orch.step(to_allocation(actions, self.num_envs, self.n_slices))
        self._t += 1
        obs = self.encoder.encode(result.observation)
        reward = self.encoder.reward(result.usage)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = self._t >= self.max_episode_steps
        info = self.encoder.info(result)
        if truncated.any():
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
        self._obs = obs
        return obs.copy(), reward, terminated, truncated, info

    # ------------------------------------------------------------------------------------ checkpoints

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue the rollouts later (in-process orchestrator only).

        Raises:
            ConfigError: the orchestrator is remote (its state cannot be captured here).
        """
        if not isinstance(self.orch, Orchestrator):
            raise ConfigError("snapshot: only an in-process Orchestrator can be captured")
        return {
            "orchestrator": pickle.dumps(self.orch),
            "t": self._t.copy(),
            "obs": None if self._obs is None else self._obs.copy(),
        }

    def restore(self, snap: dict[str, Any]) -> None:
        """Continue from a :meth:`snapshot` (the orchestrator object is updated in place).

        Raises:
            ConfigError: the snapshot comes from another scenario or batch size.
        """
        if not isinstance(self.orch, Orchestrator):
            raise ConfigError("restore: only an in-process Orchestrator can be restored")
        saved = pickle.loads(snap["orchestrator"])
        if not isinstance(saved, Orchestrator) or saved.spaces() != self.spaces:
            raise ConfigError("restore: the snapshot was taken from another scenario or number of envs")
        vars(self.orch).update(vars(saved))
        self._t = np.asarray(snap["t"], dtype=np.int64).copy()
        self._obs = None if snap["obs"] is None else np.asarray(snap["obs"], dtype=np.float32).copy()


def _masked(info: dict[str, Any], mask: NDArray[np.bool_]) -> dict[str, Any]:
    """A copy of a batched info dict with a ``_key`` mask next to every key (nested dicts too)."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        out[key] = _masked(value, mask) if isinstance(value, dict) else np.array(value, copy=True)
        out[f"_{key}"] = mask.copy()
    return out
