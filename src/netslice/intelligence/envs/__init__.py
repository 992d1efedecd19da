"""Environments over the orchestrator's agent API: Gymnasium (single and native vector) and PettingZoo.

:class:`SliceAgentsVectorEnv` (:mod:`.slice_agents`) is the vector env of per-slice agents sharing one policy.

Importing this package registers ``netslice/Slicing-v0`` with Gymnasium (see :mod:`.registration`;
make() kwargs ``scenario``, ``reward``, ``cost_penalty``, ``action``, ``weights``, ``backend``,
``include_kpis``, ``slots_per_episode``, ``render_mode``). An installed netslice also registers it whenever Gymnasium is
imported, with no netslice import (the start-up hook :mod:`netslice_gymnasium_hook`, run by the
``netslice-gymnasium.pth`` file of the install, also in subprocesses and Ray workers)::

    import gymnasium

    env = gymnasium.make("netslice/Slicing-v0", scenario="testbed-v0")
    envs = gymnasium.make_vec("netslice/Slicing-v0", num_envs=16)  # native SliceVectorEnv (NEXT_STEP), scaled action

The package imports its environment classes lazily: importing it (what the hook does, and what Gymnasium
does for the module-qualified id ``"netslice.intelligence.envs:netslice/Slicing-v0"``, which works without
an install) only registers the id.
Observation, reward and cost layout: :mod:`netslice.intelligence.envs.features` and
:mod:`netslice.intelligence.envs.options`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from netslice.intelligence.envs.registration import ENV_ID, register_envs

if TYPE_CHECKING:
    from netslice.intelligence.envs.domains import DomainParallelEnv
    from netslice.intelligence.envs.features import Encoder
    from netslice.intelligence.envs.parallel import SliceParallelEnv
    from netslice.intelligence.envs.single import SliceEnv
    from netslice.intelligence.envs.slice_agents import SliceAgentsVectorEnv
    from netslice.intelligence.envs.vector import SliceVectorEnv

register_envs()

_LAZY = {
    "DomainParallelEnv": "netslice.intelligence.envs.domains",
    "Encoder": "netslice.intelligence.envs.features",
    "SliceAgentsVectorEnv": "netslice.intelligence.envs.slice_agents",
    "SliceEnv": "netslice.intelligence.envs.single",
    "SliceParallelEnv": "netslice.intelligence.envs.parallel",
    "SliceVectorEnv": "netslice.intelligence.envs.vector",
}


def __getattr__(name: str) -> Any:
    """The environment classes, imported on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ENV_ID",
    "DomainParallelEnv",
    "Encoder",
    "SliceAgentsVectorEnv",
    "SliceEnv",
    "SliceParallelEnv",
    "SliceVectorEnv",
    "register_envs",
]
