"""Single-network environment: a :class:`gymnasium.Env` over an orchestrator with one network.

Card (``netslice/Slicing-v0``; kwargs ``scenario``, ``weights``, ``backend``, ``include_kpis``):

* Observation: ``Box((14 K + 2,), float32)`` in the layout of :mod:`.features` (K slices).
* Action: ``Box(0, 1, (7 K,), float32)``, resource-major: entry ``r * K + k`` is row ``r``
  (prb_ul, prb_dl, mcs_ul, mcs_dl, tn_bw, cn_cpu, edge_cpu) of slice ``k``. Over-capacity actions
  are scaled down proportionally by the orchestrator.
* Reward: minus the weighted mean usage of the four domains (equal weights by default).
* Cost: ``info["cost"]`` ``(K,)``, the SLA cost of each slice clipped to [0, 1], slice order;
  also ``info["cost_raw"]``, ``info["usage"]`` ``(4,)``, ``info["modified"]``, optionally
  ``info["kpis"]``.
* Episode end: ``truncated=True`` after ``slots_per_episode`` slots (never ``terminated``); step
  again only after ``reset``.
* Seeding: ``reset(seed=s)`` re-seeds the simulator; ``reset()`` continues its generator.
* Version history: v0 -- first version.
"""

from __future__ import annotations

from typing import Any, cast

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

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


class SliceEnv(gymnasium.Env[Float32Array, Float32Array]):
    """One simulated network as a Gymnasium env (see the module card).

    Args:
        scenario: registered scenario name or loaded scenario.
        seed: seed of the orchestrator created here (episodes are re-seeded by ``reset(seed=...)``).
        orchestrator: drive this orchestrator (or client) instead of creating one; it must run one network.
        encoder: observation encoder (default: built from the scenario).
        weights: ``(4,)`` domain weights of the reward, default equal.
        backend: simulator backend of the orchestrator created here.
        include_kpis: add the raw KPIs to ``info["kpis"]``.
        max_episode_steps: slots per episode (default: the scenario's ``slots_per_episode``).
        render_mode: only ``None`` (no rendering).
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

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
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ConfigError(f"render_mode: only None is supported, got {render_mode!r}")
        self.orch, self.encoder, sp = connect(
            scenario, 1, seed,
            orchestrator=orchestrator, encoder=encoder, weights=weights, backend=backend, include_kpis=include_kpis,
        )  # fmt: skip
        if sp.n_envs != 1:
            raise ConfigError(f"orchestrator: SliceEnv drives one network, the orchestrator runs {sp.n_envs}")
        self.spaces = sp
        self.n_slices = len(sp.slices)
        self.max_episode_steps = sp.slots_per_episode if max_episode_steps is None else int(max_episode_steps)
        if self.max_episode_steps < 1:
            raise ConfigError(f"max_episode_steps: must be >= 1, got {self.max_episode_steps}")
        # Box() infers a floating-or-integer dtype for mypy; these boxes are float32.
        self.observation_space = cast("spaces.Space[Float32Array]", self.encoder.observation_space())
        self.action_space = cast("spaces.Space[Float32Array]", self.encoder.action_space())
        self.render_mode = render_mode
        self._t = 0
        self._done = True

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Float32Array, dict[str, Any]]:
        """Start a new episode (``seed`` re-seeds the simulator; ``options`` is unused)."""
        super().reset(seed=seed)
        obs = self.orch.reset(seed=seed)
        self._t, self._done = 0, False
        return self.encoder.encode(obs)[0], {}

    def step(self, action: Float32Array) -> tuple[Float32Array, float, bool, bool, dict[str, Any]]:
        """Run one slot under ``action`` (``(7 K,)`` in [0, 1], resource-major)."""
        if self._done:
            raise ResetNeeded("step: the episode has ended (or never started); call reset()")
        result = self.orch.step(to_allocation(action, 1, self.n_slices))
        self._t += 1
        truncated = self._t >= self.max_episode_steps
        self._done = truncated
        batched = self.encoder.info(result)
        info = {key: _first(value) for key, value in batched.items()}
        reward = float(self.encoder.reward(result.usage)[0])
        return self.encoder.encode(result.observation)[0], reward, False, truncated, info


def _first(value: Any) -> Any:
    """The single env's entry of a batched info value (nested dicts too)."""
    if isinstance(value, dict):
        return {k: _first(v) for k, v in value.items()}
    first = np.asarray(value)[0]
    return first.item() if first.ndim == 0 else first
