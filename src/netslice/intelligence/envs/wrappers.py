"""Action parametrisations of the registered id: the raw share box, or a log-scaled symmetric box.

``action=`` of ``gymnasium.make("netslice/Slicing-v0", ...)`` and ``gymnasium.make_vec`` (see
:mod:`.registration`):

* ``"share"``: the env's own ``Box(0, 1, (7 K,))``, one resource share per entry (what netslice's
  PPO, the baselines and the orchestrator use).
* ``"scaled"`` (the registered id's default): ``Box(-5, 5, (7 K,))``, symmetric around 0, mapped
  entry-wise to the share on a log scale::

      share = min(1, center * spread ** (a / bound))   # center 0.1, spread 10, bound 5

  so ``a = 0`` is a share of 0.1, ``a = -5`` is 0.01 and ``a = +5`` is 1; one unit of ``a``
  multiplies the share by ``10 ** 0.2`` (about 1.6). Why: an RL library's initial Gaussian policy
  (stable-baselines3, CleanRL: mean 0, std 1 in the action's own units, samples clipped to the box)
  then starts at a share of 0.1 and explores within a factor 1.6 of it, never asking for 0 (a
  starved slice) and reaching small shares (the core's 0.02) as easily as large ones. Measured with
  stable-baselines3 PPO at its defaults (``benchmarks/sb3_default_learning.py``): on the raw share
  box it learns nothing (half the samples are clipped to 0); with ``bound = 1`` (the [-1, 1] box
  SB3's docs recommend, one std = a factor 10) it becomes safe but over-provisions (usage
  0.71-0.83 at 98k-196k steps, above the rule-based policy's 0.633); with ``bound = 5`` it meets
  the SLAs at 0.37-0.39 usage (131k steps, 3 seeds). Libraries that rescale their actions from
  [-1, 1] to the box (RLlib's ``normalize_actions``) see the same map as with ``bound = 1``.
  Actions outside the box are clipped to it; non-finite actions reach the env, which raises.

:class:`ScaledShareAction` (one env) and :class:`ScaledShareVectorAction` (a vector env) are
ordinary Gymnasium wrappers; wrap a :class:`~.single.SliceEnv` or :class:`~.vector.SliceVectorEnv`
with them directly to choose another ``center``, ``spread`` or ``bound``. :func:`share_to_scaled`
inverts the map (a share below ``center / spread`` maps to ``-bound``), e.g. to replay a baseline.
"""

from __future__ import annotations

import math
from typing import Any, cast

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorActionWrapper, VectorEnv
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.network.allocation import clip, read_only

Float32Array = NDArray[np.float32]

#: Action parametrisations of the registered id (see the module docstring).
ACTIONS: tuple[str, ...] = ("share", "scaled")
#: Share at ``a = 0`` of the ``"scaled"`` action.
DEFAULT_CENTER = 0.1
#: Factor between the share at ``a = 0`` and at the box's ends ``a = +-bound`` of the ``"scaled"`` action.
DEFAULT_SPREAD = 10.0
#: Half-width of the ``"scaled"`` action box (one unit of the action: a factor ``spread ** (1 / bound)``).
DEFAULT_BOUND = 5.0


def check_action(action: str) -> str:
    """Validate an action parametrisation name.

    Raises:
        ConfigError: not one of :data:`ACTIONS`.
    """
    if action not in ACTIONS:
        raise ConfigError(f"action: must be one of {', '.join(map(repr, ACTIONS))}, got {action!r}")
    return action


def _check_map(center: float, spread: float, bound: float) -> tuple[float, float, float]:
    c, s, b = float(center), float(spread), float(bound)
    if not (math.isfinite(c) and 0.0 < c <= 1.0):
        raise ConfigError(f"center: must be in (0, 1], got {center!r}")
    if not (math.isfinite(s) and s > 1.0):
        raise ConfigError(f"spread: must be a finite number > 1, got {spread!r}")
    if not (math.isfinite(b) and b > 0.0):
        raise ConfigError(f"bound: must be a finite number > 0, got {bound!r}")
    return c, s, b


def scaled_to_share(
    action: Any, center: float = DEFAULT_CENTER, spread: float = DEFAULT_SPREAD, bound: float = DEFAULT_BOUND
) -> Float32Array:
    """Map a ``"scaled"`` action (any shape, clipped to ``[-bound, bound]``) to shares.

    ``share = min(1, center * spread ** (a / bound))``; non-finite entries stay non-finite (the env
    rejects them).
    """
    return _to_share(action, _map_arrays(center, spread, bound))


#: ``(-bound, bound, spread, center)`` of a ``"scaled"`` map as read-only 0-d float64 arrays (see :func:`_to_share`).
_MapArrays = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
_ONE = read_only(np.array(1.0))


def _map_arrays(center: float, spread: float, bound: float) -> _MapArrays:
    """The constants of :func:`_to_share` for a map."""
    return tuple(read_only(np.array(x, dtype=np.float64)) for x in (-bound, bound, spread, center))  # type: ignore[return-value]


def _to_share(action: Any, constants: _MapArrays) -> Float32Array:
    """:func:`scaled_to_share` with its constants as 0-d float64 arrays.

    The action is float64 from the first step on, so the 0-d arrays give the results of the Python floats, without
    the conversion a ufunc makes of a Python float on every call (about half of a call on one env's action).
    """
    neg_bound, bound, spread, center = constants
    a = clip(np.asarray(action, dtype=np.float64), neg_bound, bound) / bound
    share: Float32Array = np.minimum(center * np.power(spread, a), _ONE).astype(np.float32)
    return share


def share_to_scaled(
    share: Any, center: float = DEFAULT_CENTER, spread: float = DEFAULT_SPREAD, bound: float = DEFAULT_BOUND
) -> Float32Array:
    """The ``"scaled"`` action giving ``share`` (inverse of :func:`scaled_to_share` on its range).

    Shares below ``center / spread`` (0 included) map to ``-bound``, a share of 1 to the smallest
    action reaching it (``bound * log(1 / center) / log(spread)``).
    """
    s = np.asarray(share, dtype=np.float64)
    with np.errstate(divide="ignore"):
        a = bound * np.log(np.maximum(s, 0.0) / center) / math.log(spread)
    scaled: Float32Array = np.clip(a, -bound, bound).astype(np.float32)
    return scaled


def _scaled_box(share_box: spaces.Space[Any], bound: float) -> spaces.Box:
    if not isinstance(share_box, spaces.Box):
        raise ConfigError(f"env: the action space must be a Box of shares, got {share_box!r}")
    return spaces.Box(-bound, bound, share_box.shape, np.float32)


class ScaledShareAction(gymnasium.ActionWrapper[Any, Float32Array, Float32Array]):
    """One env's share box ``[0, 1]`` behind a log-scaled ``Box(-bound, bound)`` (see the module docstring).

    Args:
        env: an env whose action space is the ``Box(0, 1, (7 K,))`` of shares.
        center: share at ``a = 0``, in (0, 1].
        spread: factor between the share at ``a = 0`` and at ``a = +-bound``, > 1.
        bound: half-width of the action box, > 0.

    Raises:
        ConfigError: ``center``, ``spread`` or ``bound`` out of range, or an action space that is not a Box.
    """

    def __init__(
        self,
        env: gymnasium.Env[Any, Float32Array],
        center: float = DEFAULT_CENTER,
        spread: float = DEFAULT_SPREAD,
        bound: float = DEFAULT_BOUND,
    ) -> None:
        super().__init__(env)
        self.center, self.spread, self.bound = _check_map(center, spread, bound)
        self.action_space = cast("spaces.Space[Float32Array]", _scaled_box(env.action_space, self.bound))

    #: The map ``(center, spread, bound)`` that :attr:`_arrays` were made for (class defaults: made on first use).
    _map: tuple[float, float, float] | None = None
    _arrays: _MapArrays | None = None

    def action(self, action: Float32Array) -> Float32Array:
        """The shares of a scaled action."""
        key = (self.center, self.spread, self.bound)
        if key != self._map or self._arrays is None:  # made once (again if the attributes are changed)
            self._map, self._arrays = key, _map_arrays(*key)
        return _to_share(action, self._arrays)


class ScaledShareVectorAction(VectorActionWrapper):
    """A vector env's share box behind a log-scaled ``Box(-bound, bound)`` (see :class:`ScaledShareAction`).

    Args:
        env: a vector env whose single action space is the ``Box(0, 1, (7 K,))`` of shares.
        center: share at ``a = 0``, in (0, 1].
        spread: factor between the share at ``a = 0`` and at ``a = +-bound``, > 1.
        bound: half-width of the action box, > 0.

    Raises:
        ConfigError: ``center``, ``spread`` or ``bound`` out of range, or an action space that is not a Box.
    """

    def __init__(
        self,
        env: VectorEnv,
        center: float = DEFAULT_CENTER,
        spread: float = DEFAULT_SPREAD,
        bound: float = DEFAULT_BOUND,
    ) -> None:
        super().__init__(env)
        self.center, self.spread, self.bound = _check_map(center, spread, bound)
        self.single_action_space = _scaled_box(env.single_action_space, self.bound)
        self.action_space = spaces.Box(
            -self.bound, self.bound, (env.num_envs, *self.single_action_space.shape), np.float32
        )

    def actions(self, actions: Float32Array) -> Float32Array:
        """The shares of a batch of scaled actions."""
        return scaled_to_share(actions, self.center, self.spread, self.bound)
