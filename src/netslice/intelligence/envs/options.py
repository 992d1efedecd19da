"""What the environments share: their options (reward, episode length, action clipping, autoreset) and setup.

:class:`EnvCore` holds the construction the three environments share (option checks, orchestrator,
encoder and spaces).

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
import pickle
from typing import Literal

import numpy as np
from gymnasium.vector import AutoresetMode
from numpy.typing import NDArray

from netslice.errors import ConfigError, InvalidAllocationError
from netslice.intelligence.envs import render as rendering
from netslice.intelligence.envs.connection import AgentApi, connect
from netslice.intelligence.envs.features import Encoder
from netslice.network.allocation import clip, read_only
from netslice.network.scenarios import Scenario
from netslice.orchestration.agent_api import Spaces
from netslice.orchestration.orchestrator import Orchestrator

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
    # np.add.reduce is what ndarray.sum runs (the same sum), without the method's wrapper.
    out: FloatArray = usage_reward - cost_penalty * np.add.reduce(np.asarray(cost, dtype=np.float64), axis=-1)
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


#: The default action box's bounds as read-only 0-d float64 arrays: a ufunc converts a Python float operand on
#: every call (half of a call on one env's action); the action is float64, so the clip is the same.
_ZERO, _ONE = read_only(np.array(0.0)), read_only(np.array(1.0))


def clip_action(
    action: object, low: float | FloatArray = _ZERO, high: float | FloatArray = _ONE, name: str = "action"
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
    clipped = clip(a, low, high)
    diff = np.abs(clipped - a)  # NaN where a is NaN, inf where a is infinite: the checks below see both
    magnitude: FloatArray = (
        np.maximum.reduce(diff, axis=-1)  # diff.max(axis=-1), without the method's wrapper (NaN propagates)
        if diff.ndim >= 1 and diff.shape[-1] > 0
        else np.zeros(diff.shape[:-1])
    )
    largest = magnitude if magnitude.ndim == 0 else np.maximum.reduce(magnitude, axis=None, initial=0.0)
    if not math.isfinite(largest):  # a NaN or infinite entry (finite ones are clipped by a finite amount)
        bad = ~np.isfinite(a)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InvalidAllocationError(f"{name}{list(idx)}: must be finite, got {a[idx]}")
    return clipped, magnitude


def parse_autoreset_mode(mode: AutoresetMode | str) -> AutoresetMode:
    """Parse an autoreset mode: the enum, its value (``"NextStep"``) or name in any case (``"next-step"``).

    Raises:
        ConfigError: an unknown mode.
    """
    if isinstance(mode, AutoresetMode):
        return mode
    key = "".join(ch for ch in str(mode).lower() if ch.isalnum())
    for known in AutoresetMode:
        if key in (known.value.lower(), known.name.lower().replace("_", "")):
            return known
    allowed = ", ".join(repr(m.value) for m in AutoresetMode)
    raise ConfigError(f"autoreset_mode: must be an AutoresetMode or one of {allowed} (or e.g. 'next-step'), "
                      f"got {mode!r}")  # fmt: skip


class EnvCore:
    """The part of the three environments' construction they share (their constructors call :meth:`_setup`).

    It checks their common options and connects them to the orchestrator, encoder and spaces behind
    them (:func:`.connection.connect`).
    """

    render_mode: str | None
    #: Reward formulation (``"usage"`` or ``"penalized"``) and its penalty.
    reward_kind: str
    cost_penalty: float
    orch: AgentApi
    encoder: Encoder
    spaces: Spaces
    n_slices: int
    #: Slots after which the env truncates by itself (``None``: never).
    slots_per_episode: int | None

    @property
    def max_episode_steps(self) -> int | None:
        """Former name of :attr:`slots_per_episode`."""
        return self.slots_per_episode

    def _setup(
        self,
        scenario: str | Scenario,
        seed: int | None,
        *,
        vector: bool = False,
        num_envs: int | None = 1,
        orchestrator: AgentApi | None,
        encoder: Encoder | None,
        weights: FloatArray | None,
        backend: str,
        include_kpis: bool = False,
        slots_per_episode: EpisodeLength,
        max_episode_steps: int | None,
        render_mode: str | None,
        reward: str,
        cost_penalty: float,
    ) -> None:
        """Check the options (in this order: render mode, reward, orchestrator, episode length) and connect.

        Args:
            vector: set up the vector env (else a single-network env, whose orchestrator must run one
                network); ``max_episode_steps`` then overrides ``slots_per_episode``.
            num_envs: the vector env's ``num_envs``: an int must match a given orchestrator; ``None``
                takes its number (one network for a new orchestrator).
            scenario: registered scenario name or loaded scenario.
            seed: seed of the orchestrator created here.
            orchestrator: drive this orchestrator (or client) instead of creating one.
            encoder: observation encoder (default: built from the scenario).
            weights: ``(4,)`` domain weights of the reward, default equal.
            backend: simulator backend of the orchestrator created here.
            include_kpis: add the raw KPIs to the info dicts.
            slots_per_episode: slots per episode (see :func:`episode_length`).
            max_episode_steps: a time limit in slots (see :func:`episode_length`).
            render_mode: ``None``, ``"ansi"`` or ``"rgb_array"``.
            reward: ``"usage"`` or ``"penalized"``.
            cost_penalty: weight of the SLA cost in the ``"penalized"`` reward.

        Raises:
            ConfigError: an invalid option, or an orchestrator running another number of networks.
        """
        self.render_mode = rendering.check_render_mode(render_mode)
        self.reward_kind, self.cost_penalty = check_reward(reward, cost_penalty)
        self.orch, self.encoder, sp = connect(
            scenario, 1 if num_envs is None else num_envs, seed,
            orchestrator=orchestrator, encoder=encoder, weights=weights, backend=backend, include_kpis=include_kpis,
        )  # fmt: skip
        if not vector and sp.n_envs != 1:
            raise ConfigError(
                f"orchestrator: {type(self).__name__} drives one network, the orchestrator runs {sp.n_envs}"
            )
        if vector and num_envs is not None and num_envs != sp.n_envs:
            raise ConfigError(f"num_envs: the orchestrator runs {sp.n_envs} networks, got num_envs={num_envs}")
        self.spaces = sp
        self.n_slices = len(sp.slices)
        self.slots_per_episode = episode_length(
            slots_per_episode, max_episode_steps, sp.slots_per_episode, max_overrides=vector
        )

    def _pickled_orchestrator(self) -> bytes:
        """The in-process orchestrator, pickled: the part of a checkpoint's env snapshot that all the envs share.

        Raises:
            ConfigError: the orchestrator is remote (its state cannot be captured here).
        """
        if not isinstance(self.orch, Orchestrator):
            raise ConfigError("snapshot: only an in-process Orchestrator can be captured")
        return pickle.dumps(self.orch)

    def _restore_orchestrator(self, pickled: bytes) -> None:
        """Continue from :meth:`_pickled_orchestrator`'s bytes (the orchestrator object is updated in place).

        Raises:
            ConfigError: the orchestrator is remote, or the snapshot comes from another scenario or number of
                networks.
        """
        if not isinstance(self.orch, Orchestrator):
            raise ConfigError("restore: only an in-process Orchestrator can be restored")
        saved = pickle.loads(pickled)
        if not isinstance(saved, Orchestrator) or saved.spaces() != self.spaces:
            raise ConfigError("restore: the snapshot was taken from another scenario or number of networks")
        vars(self.orch).update(vars(saved))
