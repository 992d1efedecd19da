"""Gymnasium registration of the netslice environments (import-light: no numpy, torch or simulator).

:func:`register_envs` registers ``netslice/Slicing-v0``; importing :mod:`netslice.intelligence.envs`
calls it, and the package declares it as an installed Gymnasium plugin in ``pyproject.toml``::

    [project.entry-points."gymnasium.envs"]
    netslice = "netslice.intelligence.envs.registration:register_envs"

Gymnasium 0.26-0.29 call every function of that entry-point group when ``gymnasium`` is imported, so
the id works there with no import. Gymnasium 1.x no longer loads plugins: there, import
``netslice.intelligence.envs`` first, or name the module in the id, which Gymnasium imports itself
(also in subprocesses and Ray workers)::

    gymnasium.make("netslice.intelligence.envs:netslice/Slicing-v0")

The registered spec (see the card of :mod:`.single`): kwargs ``scenario="testbed-v0"``,
``reward="penalized"`` and ``slots_per_episode=None`` (the env never truncates by itself), and
``max_episode_steps=24`` (testbed-v0's day) for :func:`gymnasium.make`'s ``TimeLimit``; the vector
entry point :func:`make_vector` builds a :class:`~.vector.SliceVectorEnv` with ``NEXT_STEP`` autoreset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netslice.intelligence.envs.vector import SliceVectorEnv

ENV_ID = "netslice/Slicing-v0"
#: Episode length of the registered id (``TimeLimit``): one day of testbed-v0 (24 one-hour slots).
DEFAULT_MAX_EPISODE_STEPS = 24
#: Keyword arguments of the registered id (``gymnasium.make`` kwargs override them).
DEFAULT_KWARGS: dict[str, Any] = {"scenario": "testbed-v0", "reward": "penalized", "slots_per_episode": None}


def register_envs() -> None:
    """Register ``netslice/Slicing-v0`` with Gymnasium (once; later calls do nothing)."""
    import gymnasium

    if ENV_ID in gymnasium.registry:
        return
    gymnasium.register(
        id=ENV_ID,
        entry_point="netslice.intelligence.envs.single:SliceEnv",
        vector_entry_point="netslice.intelligence.envs.registration:make_vector",
        max_episode_steps=DEFAULT_MAX_EPISODE_STEPS,
        kwargs=dict(DEFAULT_KWARGS),
    )


def make_vector(num_envs: int = 1, *, autoreset_mode: Any = "next-step", **kwargs: Any) -> SliceVectorEnv:
    """Vector entry point of the registered id: a :class:`~.vector.SliceVectorEnv`, ``NEXT_STEP`` by default.

    Args:
        num_envs: networks simulated side by side.
        autoreset_mode: ``NEXT_STEP`` (Gymnasium's default), ``SAME_STEP`` or ``DISABLED`` (or values).
        **kwargs: the spec's and the caller's keyword arguments of :class:`~.vector.SliceVectorEnv`
            (``max_episode_steps`` from ``make_vec`` sets the episode length).
    """
    from netslice.intelligence.envs.vector import SliceVectorEnv

    return SliceVectorEnv(num_envs, autoreset_mode=autoreset_mode, **kwargs)
