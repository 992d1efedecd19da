"""Environments over the orchestrator's agent API: Gymnasium (single and native vector) and PettingZoo.

Importing this package registers ``netslice/Slicing-v0`` with Gymnasium (kwargs ``scenario``,
``weights``, ``backend``, ``include_kpis``)::

    import gymnasium
    import netslice.intelligence.envs

    env = gymnasium.make("netslice/Slicing-v0", scenario="testbed-v0")
    envs = gymnasium.make_vec("netslice/Slicing-v0", num_envs=16)  # native SliceVectorEnv

Observation, reward and cost layout: :mod:`netslice.intelligence.envs.features`.
"""

from __future__ import annotations

import gymnasium

from netslice.intelligence.envs.features import Encoder
from netslice.intelligence.envs.parallel import SliceParallelEnv
from netslice.intelligence.envs.single import SliceEnv
from netslice.intelligence.envs.vector import SliceVectorEnv

ENV_ID = "netslice/Slicing-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(
        id=ENV_ID,
        entry_point="netslice.intelligence.envs.single:SliceEnv",
        vector_entry_point="netslice.intelligence.envs.vector:SliceVectorEnv",
        kwargs={"scenario": "testbed-v0"},
    )

__all__ = ["ENV_ID", "Encoder", "SliceEnv", "SliceParallelEnv", "SliceVectorEnv"]
