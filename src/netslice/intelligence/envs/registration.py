"""Gymnasium registration of the netslice environments (import-light: no numpy, torch or simulator).

:func:`register_envs` registers ``netslice/Slicing-v0``; importing :mod:`netslice.intelligence.envs`
calls it, and the package declares it as an installed Gymnasium plugin in ``pyproject.toml``::

    [project.entry-points."gymnasium.envs"]
    netslice = "netslice.intelligence.envs.registration:register_envs"

Gymnasium 0.26-0.29 call every function of that entry-point group when ``gymnasium`` is imported.
Gymnasium 1.x no longer loads plugins; there the installed start-up hook :mod:`netslice_gymnasium_hook`
(``netslice-gymnasium.pth``, see ``setup.py``) calls :func:`register_envs` right after ``gymnasium`` is
imported, so the bare id works with no netslice import, also in subprocesses and Ray workers. From a
source tree that is not installed, import ``netslice.intelligence.envs`` first or name the module in
the id, which Gymnasium imports itself::

    gymnasium.make("netslice.intelligence.envs:netslice/Slicing-v0")

The registered spec (see the card of :mod:`.single`): kwargs ``scenario="testbed-v0"``,
``reward="penalized"``, ``action="scaled"`` and ``slots_per_episode=None`` (the env never truncates
by itself), and ``max_episode_steps=24`` (testbed-v0's day) for :func:`gymnasium.make`'s
``TimeLimit``. The entry point :func:`make_env` builds a :class:`~.single.SliceEnv`; the vector entry
point :func:`make_vector` a :class:`~.vector.SliceVectorEnv` with ``NEXT_STEP`` autoreset.

Defaults for plain RL libraries (the env classes themselves default to ``reward="usage"`` and the
share box, what netslice's own PPO uses):

* ``reward="penalized"``: ``-usage - 8 * sum_k cost_k`` (:mod:`.options`); ``reward="usage"`` is
  the constrained formulation (cost only in ``info["cost"]``), ``cost_penalty=w`` sets the weight.
* ``action="scaled"``: a ``Box(-5, 5, (7 K,))`` mapped to shares on a log scale,
  ``share = min(1, 0.1 * 10 ** (a / 5))`` (:mod:`.wrappers`): a library's initial unit Gaussian
  around 0 explores shares within a factor 1.6 of 0.1 instead of clipping half of them to 0;
  ``action="share"`` is the env's own ``Box(0, 1)`` of shares.

Measured (``benchmarks/sb3_default_learning.py``, ``benchmarks/README.md``): stable-baselines3
``PPO("MlpPolicy", make_vec_env("netslice/Slicing-v0", n_envs=1))`` with all its defaults learns an
SLA-meeting policy (usage 0.37-0.39, below the rule-based policy's 0.633, violations <= 5 % within
131k steps; ``tests/intelligence/test_sb3_default_learning.py``); with ``action="share"`` it learns
none (usage 0.19 at 100 % violations after 393k steps, 8 envs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netslice.intelligence.envs.single import SliceEnv
    from netslice.intelligence.envs.vector import SliceVectorEnv
    from netslice.intelligence.envs.wrappers import ScaledShareAction, ScaledShareVectorAction

ENV_ID = "netslice/Slicing-v0"
#: Episode length of the registered id (``TimeLimit``): one day of testbed-v0 (24 one-hour slots).
DEFAULT_MAX_EPISODE_STEPS = 24
#: Keyword arguments of the registered id (``gymnasium.make`` kwargs override them).
DEFAULT_KWARGS: dict[str, Any] = {
    "scenario": "testbed-v0",
    "reward": "penalized",
    "action": "scaled",
    "slots_per_episode": None,
}


def register_envs() -> None:
    """Register ``netslice/Slicing-v0`` with Gymnasium (once; later calls do nothing)."""
    import gymnasium

    if ENV_ID in gymnasium.registry:
        return
    gymnasium.register(
        id=ENV_ID,
        entry_point="netslice.intelligence.envs.registration:make_env",
        vector_entry_point="netslice.intelligence.envs.registration:make_vector",
        max_episode_steps=DEFAULT_MAX_EPISODE_STEPS,
        kwargs=dict(DEFAULT_KWARGS),
    )


def make_env(*, action: str = "share", **kwargs: Any) -> SliceEnv | ScaledShareAction:
    """Entry point of the registered id: a :class:`~.single.SliceEnv`, behind the ``action`` parametrisation.

    Args:
        action: ``"share"`` (the env's ``Box(0, 1)``) or ``"scaled"`` (:class:`~.wrappers.ScaledShareAction`,
            ``Box(-5, 5)``).
        **kwargs: the spec's and the caller's keyword arguments of :class:`~.single.SliceEnv`.

    Raises:
        ConfigError: an unknown ``action`` (or a bad env argument).
    """
    from netslice.intelligence.envs.single import SliceEnv
    from netslice.intelligence.envs.wrappers import ScaledShareAction, check_action

    env = SliceEnv(**kwargs)
    return ScaledShareAction(env) if check_action(action) == "scaled" else env


def make_vector(
    num_envs: int = 1, *, autoreset_mode: Any = "next-step", action: str = "share", **kwargs: Any
) -> SliceVectorEnv | ScaledShareVectorAction:
    """Vector entry point of the registered id: a :class:`~.vector.SliceVectorEnv`, ``NEXT_STEP`` by default.

    Args:
        num_envs: networks simulated side by side.
        autoreset_mode: ``NEXT_STEP`` (Gymnasium's default), ``SAME_STEP`` or ``DISABLED`` (or values).
        action: ``"share"`` or ``"scaled"`` (:class:`~.wrappers.ScaledShareVectorAction`).
        **kwargs: the spec's and the caller's keyword arguments of :class:`~.vector.SliceVectorEnv`
            (``max_episode_steps`` from ``make_vec`` sets the episode length).

    Raises:
        ConfigError: an unknown ``action`` (or a bad env argument).
    """
    from netslice.intelligence.envs.vector import SliceVectorEnv
    from netslice.intelligence.envs.wrappers import ScaledShareVectorAction, check_action

    check_action(action)
    envs = SliceVectorEnv(num_envs, autoreset_mode=autoreset_mode, **kwargs)
    return ScaledShareVectorAction(envs) if action == "scaled" else envs
