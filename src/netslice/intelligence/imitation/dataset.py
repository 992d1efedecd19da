"""Teacher demonstrations: collected through the orchestrator, saved as a Minari dataset (HDF5).

:func:`collect` runs a teacher policy (the rule-based baseline, as in the paper, or the forecast planner, a better
teacher that is still causal) on ``n_envs`` networks of a scenario for ``days`` days, through
:class:`~netslice.intelligence.envs.vector.SliceVectorEnv` and the orchestrator exactly as
:func:`~netslice.intelligence.evaluate.evaluate` runs any policy. Each network's day is one episode of
``slots_per_episode`` slots.

The file format is Minari's (Farama Foundation's standard for offline datasets of Gymnasium environments):
:func:`save` writes ``FOLDER/data/main_data.hdf5`` and ``FOLDER/data/metadata.json``, readable with
``minari.MinariDataset("FOLDER/data")``, or with ``minari.load_dataset(dataset_id)`` when ``FOLDER`` is where
``MINARI_DATASETS_PATH`` points under the id's name (``netslice/testbed-v0-rule-v0`` ->
``$MINARI_DATASETS_PATH/netslice/testbed-v0-rule-v0``). Per episode (Minari's fields):

================  =========================  ==============================================================
``observations``  ``(T + 1, n_features)``     the encoded observations (:mod:`..envs.features`), the last one
                                              the observation after the episode's last slot
``actions``       ``(T, 7 K)``                the teacher's flat shares in [0, 1], resource-major (what the env
                                              was given; the orchestrator may scale over-subscribed rows)
``rewards``       ``(T,)``                    the env's reward: minus the weighted usage (``reward="usage"``)
``terminations``  ``(T,)``                    always False (a network does not end)
``truncations``   ``(T,)``                    True at the day's last slot
``infos/cost``    ``(T, K)``                  the SLA cost of each slice, clipped to [0, 1]
================  =========================  ==============================================================

The metadata names the environment it recovers (``env_spec``: ``netslice/Slicing-v0`` with the scenario, the
share actions and the usage reward) and, under ``netslice``, the teacher, scenario, seed, days, networks and slices.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
from numpy.typing import NDArray

import netslice
from netslice.errors import ConfigError
from netslice.intelligence.envs.features import flatten_allocation
from netslice.intelligence.envs.registration import ENV_ID, register_envs
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.policies.base import (
    AnyPolicy,
    ContextPolicy,
    ModelPolicy,
    allocation_for,
    bind_policy,
    reset_policy,
)
from netslice.network.allocation import N_RESOURCES
from netslice.network.scenarios import Scenario
from netslice.orchestration.orchestrator import Orchestrator

FloatArray = NDArray[np.float64]
#: Folder of the Minari storage inside a dataset folder (Minari's own layout).
DATA_DIR = "data"


@dataclass(frozen=True)
class Demonstrations:
    """A teacher's episodes, stacked (``E`` episodes of ``T`` slots).

    Attributes:
        observations: ``(E, T + 1, n_features)`` float32.
        actions: ``(E, T, 7 K)`` float32 shares.
        rewards: ``(E, T)``.
        costs: ``(E, T, K)`` clipped SLA costs.
        truncations: ``(E, T)`` bool.
        meta: teacher, scenario, seed, days, n_envs, slices (plain data).
    """

    observations: NDArray[np.float32]
    actions: NDArray[np.float32]
    rewards: FloatArray
    costs: FloatArray
    truncations: NDArray[np.bool_]
    meta: dict[str, Any]

    @property
    def n_episodes(self) -> int:
        """Episodes ``E``."""
        return int(self.actions.shape[0])

    @property
    def n_steps(self) -> int:
        """Transitions ``E x T``."""
        return int(self.actions.shape[0] * self.actions.shape[1])

    def states(self, episodes: NDArray[np.intp] | None = None) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The (observation, action) pairs of ``episodes`` (default all), flat: ``(n, n_features)``, ``(n, 7 K)``."""
        sel = slice(None) if episodes is None else episodes
        obs = self.observations[sel, :-1]
        act = self.actions[sel]
        return obs.reshape(-1, obs.shape[-1]), act.reshape(-1, act.shape[-1])

    def summary(self) -> dict[str, float]:
        """The teacher's usage (minus the mean reward) and violation rate (any slice) over the dataset."""
        return {
            "usage/mean": float(-self.rewards.mean()),
            "sla/violation_rate": float((self.costs > 0.0).any(axis=-1).mean()),
        }


def collect(
    teacher: AnyPolicy, name: str, scenario: Scenario, days: int, n_envs: int, seed: int,
    weights: FloatArray | None = None, progress: Callable[[int, int], None] | None = None,
) -> Demonstrations:  # fmt: skip
    """Run ``teacher`` (named ``name``) for ``days`` days on ``n_envs`` networks seeded with ``seed``.

    Raises:
        ConfigError: ``days`` or ``n_envs`` below 1.
    """
    for field, value in (("days", days), ("n_envs", n_envs)):
        if value < 1:
            raise ConfigError(f"{field}: must be at least 1, got {value!r}")
    envs = SliceVectorEnv(n_envs, scenario, seed=seed, weights=weights)
    orch = envs.orch
    assert isinstance(orch, Orchestrator), "collect builds its envs in-process"
    T = envs.max_episode_steps
    obs, _ = envs.reset(seed=seed)
    bind_policy(teacher, orch)
    reset_policy(teacher)
    K = len(envs.encoder.slice_names)
    n_obs, n_act = obs.shape[1], N_RESOURCES * K
    obs_buf = np.zeros((days, n_envs, T + 1, n_obs), dtype=np.float32)
    act_buf = np.zeros((days, n_envs, T, n_act), dtype=np.float32)
    rew_buf, cost_buf = np.zeros((days, n_envs, T)), np.zeros((days, n_envs, T, K))
    trunc_buf = np.zeros((days, n_envs, T), dtype=bool)
    for step in range(days * T):
        d, t = divmod(step, T)
        if isinstance(teacher, ContextPolicy | ModelPolicy):
            action = flatten_allocation(allocation_for(teacher, orch))
        else:
            action = teacher.act(obs)
        obs_buf[d, :, t], act_buf[d, :, t] = obs, action
        obs, reward, _, truncated, info = envs.step(action)
        rew_buf[d, :, t], cost_buf[d, :, t], trunc_buf[d, :, t] = reward, info["cost"], truncated
        if t == T - 1:  # SAME_STEP autoreset: the observation after the day's last slot is in final_obs
            obs_buf[d, :, T] = np.stack([np.asarray(o) for o in info["final_obs"]])
        if progress is not None:
            progress(step + 1, days * T)
    meta = {
        "teacher": name, "scenario": scenario.name, "seed": seed, "days": days, "n_envs": n_envs,
        "slots_per_episode": T, "slices": list(envs.encoder.slice_names), "netslice": netslice.__version__,
    }  # fmt: skip
    return Demonstrations(
        observations=obs_buf.reshape(-1, T + 1, n_obs),
        actions=act_buf.reshape(-1, T, n_act),
        rewards=rew_buf.reshape(-1, T),
        costs=cost_buf.reshape(-1, T, K),
        truncations=trunc_buf.reshape(-1, T),
        meta=meta,
    )


def dataset_id(meta: dict[str, Any]) -> str:
    """The Minari id of a dataset: ``netslice/<scenario>-<teacher>-v0`` (``:`` of a teacher spec becomes ``_``)."""
    teacher = str(meta["teacher"]).replace(":", "_").replace(".", "_")
    return f"netslice/{meta['scenario']}-{teacher}-v0"


def save(demos: Demonstrations, folder: str | Path) -> Path:
    """Write ``demos`` as a Minari dataset in ``folder`` (see the module docstring); return the data folder.

    Raises:
        ConfigError: ``folder`` already holds a dataset (Minari never overwrites one).
    """
    from minari import __version__ as minari_version
    from minari.data_collector import EpisodeBuffer
    from minari.dataset.minari_storage import MinariStorage

    if find(folder) is not None:
        raise ConfigError(f"dataset folder {str(folder)!r}: already holds a dataset; give another folder")
    data = Path(folder).resolve() / DATA_DIR  # Minari sizes a relative folder wrongly (it joins the path twice)
    data.mkdir(parents=True, exist_ok=True)
    register_envs()
    kwargs = {"scenario": demos.meta["scenario"], "reward": "usage", "action": "share", "slots_per_episode": None}
    spec = replace(gymnasium.spec(ENV_ID), kwargs=kwargs, max_episode_steps=int(demos.meta["slots_per_episode"]))
    env = SliceVectorEnv(1, demos.meta["scenario"])
    storage = MinariStorage.new(
        data, observation_space=env.single_observation_space, action_space=env.single_action_space, env_spec=spec,
        data_format="hdf5",
    )  # fmt: skip
    episodes = [
        EpisodeBuffer(
            observations=demos.observations[e],
            actions=demos.actions[e],
            rewards=demos.rewards[e].tolist(),
            terminations=[False] * demos.actions.shape[1],
            truncations=demos.truncations[e].tolist(),
            infos={"cost": demos.costs[e]},
        )
        for e in range(demos.n_episodes)
    ]
    storage.update_episodes(episodes)
    storage.update_metadata({
        "dataset_id": dataset_id(demos.meta), "minari_version": minari_version, "algorithm_name": demos.meta["teacher"],
        "author": {"netslice"}, "description": f"{demos.meta['teacher']} teacher on {demos.meta['scenario']}, "
        f"{demos.meta['days']} days x {demos.meta['n_envs']} networks (netslice {demos.meta['netslice']})",
        "netslice": json.dumps(demos.meta),
    })  # fmt: skip
    return data


def find(folder: str | Path) -> Path | None:
    """The Minari data folder of a dataset folder written by :func:`save` (or that data folder itself), or None."""
    path = Path(folder)
    for data in (path, path / DATA_DIR):
        if (data / "metadata.json").exists():
            return data
    return None


def load(folder: str | Path) -> Demonstrations:
    """Read a dataset written by :func:`save` (``folder`` or its ``data`` folder).

    Raises:
        ConfigError: no netslice dataset there (names the folder and what is missing).
    """
    from minari import MinariDataset

    data = find(folder)
    if data is None:
        raise ConfigError(f"dataset {str(folder)!r}: no Minari dataset (metadata.json) there; give a folder written "
                          "by `netslice imitate`")  # fmt: skip
    ds = MinariDataset(data)
    raw = ds.storage.metadata.get("netslice")
    if raw is None:
        raise ConfigError(f"dataset {str(folder)!r}: a Minari dataset without netslice's metadata (key 'netslice')")
    episodes = list(ds.iterate_episodes())
    return Demonstrations(
        observations=np.stack([e.observations for e in episodes]).astype(np.float32),
        actions=np.stack([e.actions for e in episodes]).astype(np.float32),
        rewards=np.stack([e.rewards for e in episodes]).astype(np.float64),
        costs=np.stack([e.infos["cost"] for e in episodes]).astype(np.float64),
        truncations=np.stack([e.truncations for e in episodes]).astype(bool),
        meta=json.loads(raw),
    )  # fmt: skip
