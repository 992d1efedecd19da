"""Options shared by the environments: reward formulation, episode length and action clipping.

Reward formulations (``reward=`` of every env):

* ``"usage"``: ``r = -u``, minus the weighted mean domain usage (:meth:`.Encoder.reward`); the SLA
  cost stays apart in ``info["cost"]``. This is the constrained formulation, for safe-RL learners
  (Lagrangian, CPO) and for netslice's PPO, which adds its own penalty.
* ``"penalized"``: ``r = -u - cost_penalty * sum_k cost_k``, the SLA cost of every slice (clipped to
  [0, 1]) subtracted with weight ``cost_penalty`` (default :data:`DEFAULT_COST_PENALTY`, netslice
  PPO's default). A plain RL learner maximising it meets the SLAs first and saves resources second
  (one violated slot costs more than running every domain at full usage). Default of the
  registered ids; ``info["reward_usage"]`` then carries ``-u``. A library's default Gaussian
  policy learns it through the registered id's log-scaled action box (``action="scaled"``,
  :mod:`.wrappers`; stable-baselines3 PPO at its defaults: usage 0.37-0.39 at 0 % violations
  within 131k steps); on the raw share box (``action="share"``) stable-baselines3 PPO with all its
  defaults does not (393k steps, 8 envs: usage 0.19 at 100 % violations): its initial exploration
  (std 1 around 0 on [0, 1]) clips half the shares to 0, starves some slice in almost every slot,
  and the clipped cost saturates (2.9 of 3) and carries no signal. Measured figures:
  ``benchmarks/sb3_default_learning.py`` (``benchmarks/README.md``).

Actions outside the action box (e.g. 1.0001 from a Gaussian policy) are clipped to it by the
environments (the orchestrator and the REST API stay strict); non-finite actions are an error.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError, InvalidAllocationError

FloatArray = NDArray[np.float64]

#: Reward formulations (see the module docstring).
REWARDS: tuple[str, ...] = ("usage", "penalized")
#: Weight of the summed clipped SLA cost in the ``"penalized"`` reward (netslice PPO's default).
DEFAULT_COST_PENALTY = 8.0

#: ``slots_per_episode`` value meaning "the scenario's ``slots_per_episode``" (one day).
SCENARIO_LENGTH: Literal["scenario"] = "scenario"
EpisodeLength = int | Literal["scenario"] | None


def check_reward(reward: str, cost_penalty: float) -> tuple[str, float]:
    """Validate a reward formulation and its penalty.

    Raises:
        ConfigError: an unknown formulation, or a penalty that is not a finite number >= 0.
    """
    if reward not in REWARDS:
        raise ConfigError(f"reward: must be one of {', '.join(map(repr, REWARDS))}, got {reward!r}")
    try:
        penalty = float(cost_penalty)
    except (TypeError, ValueError):
        raise ConfigError(f"cost_penalty: must be a finite number >= 0, got {cost_penalty!r}") from None
    if not math.isfinite(penalty) or penalty < 0.0:
        raise ConfigError(f"cost_penalty: must be a finite number >= 0, got {cost_penalty!r}")
    return reward, penalty


def shape_reward(usage_reward: FloatArray, cost: FloatArray, reward: str, cost_penalty: float) -> FloatArray:
    """The reward of a formulation from ``-usage`` ``(...,)`` and the clipped cost ``(..., K)``."""
    if reward == "usage":
        return usage_reward
    out: FloatArray = usage_reward - cost_penalty * np.asarray(cost, dtype=np.float64).sum(axis=-1)
    return out


def episode_length(
    slots_per_episode: EpisodeLength,
    max_episode_steps: int | None,
    scenario_slots: int,
    *,
    max_overrides: bool = False,
) -> int | None:
    """The number of slots after which an env truncates by itself (``None``: never).

    Args:
        slots_per_episode: ``"scenario"`` (the scenario's day), a positive int, or ``None`` (the env
            does not truncate; a :class:`gymnasium.wrappers.TimeLimit` ends the episodes).
        max_episode_steps: a time limit in slots, or ``None``. For the single envs the former name
            of ``slots_per_episode`` (:func:`gymnasium.make` consumes this name for its
            ``TimeLimit``); for the vector env the limit :func:`gymnasium.make_vec` passes.
        scenario_slots: the scenario's ``slots_per_episode``.
        max_overrides: ``max_episode_steps`` overrides ``slots_per_episode`` (else giving both is
            an error).

    Raises:
        ConfigError: both names given (without ``max_overrides``), or a length that is not a
            positive int (the message names the argument).
    """
    name = "slots_per_episode"
    if max_episode_steps is not None:
        if slots_per_episode != SCENARIO_LENGTH and not max_overrides:
            raise ConfigError("slots_per_episode: give slots_per_episode or max_episode_steps, not both")
        name, slots_per_episode = "max_episode_steps", max_episode_steps
    if slots_per_episode is None:
        return None
    if slots_per_episode == SCENARIO_LENGTH:
        return int(scenario_slots)
    if isinstance(slots_per_episode, bool) or not isinstance(slots_per_episode, int | np.integer):
        raise ConfigError(f"{name}: must be a positive int (or 'scenario' or None), got {slots_per_episode!r}")
    if slots_per_episode < 1:
        raise ConfigError(f"{name}: must be >= 1, got {slots_per_episode}")
    return int(slots_per_episode)


def clip_action(
    action: object, low: float = 0.0, high: float = 1.0, name: str = "action"
) -> tuple[FloatArray, FloatArray]:
    """Clip an action to ``[low, high]``; return it and how far each row was outside.

    Args:
        action: ``(n_envs, n)`` (or ``(n,)``) action values.
        low: lower bound of the action box.
        high: upper bound of the action box.
        name: what to call the action in error messages.

    Returns:
        The clipped action (float64, same shape) and the largest clip per row ``(n_envs,)``
        (a scalar array for a 1-D action); 0 where nothing was clipped.

    Raises:
        InvalidAllocationError: a NaN or infinite entry (named by its index).
    """
    a = np.asarray(action, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidAllocationError(f"{name}{list(idx)}: must be finite, got {a[idx]}")
    clipped = np.clip(a, low, high)
    diff = np.abs(clipped - a)
    magnitude: FloatArray = diff.max(axis=-1) if diff.ndim >= 1 and diff.shape[-1] > 0 else np.zeros(diff.shape[:-1])
    return clipped, magnitude
