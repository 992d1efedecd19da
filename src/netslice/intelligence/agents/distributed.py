"""Rollout workers on Ray: ``netslice train --workers N`` (:class:`RayCollector`, one learner, N rollout actors).

Each of the N workers is a Ray actor (:class:`RolloutWorker`) holding a :class:`~.collector.RolloutCollector` over
``n_envs / N`` networks of its own (``n_envs`` must be a multiple of N). Its envs and its exploration noise are
seeded with :func:`worker_seed`, a stream of its own derived from the run's seed and its index. Per update the
learner sends every worker the actor-critic's weights and the observation statistics (one object in Ray's store);
each worker plays ``num_steps`` slots of its networks in one call (per-slot calls would cost more than the slot)
and returns its part of the rollout. :func:`~.collector.merge` joins the parts side by side, in worker order,
and the learner (:class:`~.ppo.PPO`) updates exactly as with a local collector: GAE, the gradient epochs, the
ledger of every slot played, the multipliers' step on the rollout's violation rates. The multipliers are not
sent: the rollout does not depend on them, only the update does.

How the workers differ from the local path (so a run with workers is not bit-identical to one without, nor to
one with another N):

- observation statistics: a worker normalises every slot of a rollout with the statistics it was sent, and
  returns the mean and variance of the raw observations it saw; the learner merges them into its statistics
  after the rollout (:func:`~.collector.merge_moments`, Chan et al.'s parallel update). The local path updates
  them slot by slot, before normalising each slot;
- random streams: each worker's envs and noise are seeded by :func:`worker_seed`, not by the run's seed.

Not supported: baseline switching (``--switching``; the configuration refuses it, see
:class:`~netslice.intelligence.run_config.RunConfig`): the training shield filters every action with an evaluator
that learns centrally from every slot, so its state would have to travel to the workers each update.

Checkpoints: the learner's checkpoint as without workers; its ``noise_rng``, ``env`` and ``obs`` entries are lists
with one entry per worker (each worker's noise generator, env snapshot and observation), so a resumed run's
workers continue where they stopped. Resuming needs the same number of workers (the run configuration holds it).

Ray: a local Ray is started (``num_cpus`` at least the number of workers), unless an address is given
(``--ray-address``, or ``RAY_ADDRESS``), which joins an existing cluster; there every node needs netslice installed
in the same environment. :meth:`RayCollector.close` (also on errors and Ctrl-C, as a context manager) kills the
workers and calls ``ray.shutdown()`` when the collector initialised Ray: that stops a local Ray it started, and
only disconnects from a cluster it joined. Ray is imported only here, when workers are asked for
(:func:`import_ray`).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from netslice.errors import ConfigError, NetsliceError
from netslice.intelligence.agents.checkpoint import CheckpointError
from netslice.intelligence.agents.collector import Collected, RolloutCollector, merge
from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.policy import new_agent
from netslice.intelligence.run_config import RunConfig

#: How to get Ray.
INSTALL_HINT = "install the ray extra: pip install 'netslice[ray]' (bash scripts/setup.sh installs it)"
#: Seconds the workers may take to start (their envs built) before the run gives up.
READY_TIMEOUT_S = 300.0


def import_ray() -> ModuleType:
    """The ``ray`` module.

    Raises:
        ConfigError: Ray is not installed (the message says how to install it).
    """
    try:
        import ray
    except ImportError as err:
        raise ConfigError(
            f"workers: rollout workers run on Ray, which is not installed ({err}); {INSTALL_HINT}"
        ) from err
    return ray


def worker_seed(seed: int, index: int) -> int:
    """The seed of worker ``index``'s envs and noise: an independent stream of the run's ``seed`` (a spawned key).

    >>> worker_seed(0, 0) == worker_seed(0, 0), worker_seed(0, 0) != worker_seed(0, 1)
    (True, True)
    """
    return int(np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(1)[0])


class RolloutWorker:
    """One rollout worker: a :class:`~.collector.RolloutCollector` over its share of the networks (a Ray actor).

    Args:
        cfg: the run's configuration (its ``workers`` divides ``n_envs``).
        index: the worker's index, 0 to ``workers - 1``.
    """

    def __init__(self, cfg: RunConfig, index: int) -> None:
        from netslice.intelligence.envs.vector import SliceVectorEnv  # the env stack, only in the worker
        from netslice.network.scenarios import load

        torch.set_num_threads(1)
        seed = worker_seed(cfg.ppo.seed, index)
        envs = SliceVectorEnv(cfg.n_envs // cfg.workers, load(cfg.scenario), seed=seed,
                              weights=np.asarray(cfg.weights))  # fmt: skip
        self.collector = RolloutCollector(cfg.ppo, envs, cfg.safety, seed=seed)
        c = self.collector
        self.agent: ActorCritic = new_agent(cfg.ppo, c.n_obs, c.n_act, len(c.slice_names) if cfg.safety.enabled else 0)

    def spec(self) -> dict[str, Any]:
        """The worker's rollouts: ``num_envs``, ``n_obs``, ``n_act``, ``slice_names``, and its process id."""
        c = self.collector
        return {"num_envs": c.num_envs, "n_obs": c.n_obs, "n_act": c.n_act, "slice_names": c.slice_names,
                "pid": os.getpid()}  # fmt: skip

    def collect(
        self, weights: dict[str, NDArray[Any]], obs_rms: dict[str, Any] | None
    ) -> tuple[Collected, float, float]:
        """One rollout with the learner's ``weights`` and observation statistics (raw moments returned).

        Returns:
            The rollout, and the wall-clock times (``time.time()``) at which this call started and ended.
        """
        started = time.time()
        self.agent.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in weights.items()})  # Ray's: read-only
        rms = None if obs_rms is None else RunningMeanStd.from_state_dict(obs_rms)
        return self.collector.collect(self.agent, rms, update_obs=False), started, time.time()

    def state(self) -> dict[str, Any]:
        """The collector's checkpoint entries (noise generator, env snapshot, observation)."""
        return self.collector.state()

    def load_state(self, data: dict[str, Any]) -> None:
        """Continue from :meth:`state`'s entries."""
        self.collector.load_state(data)


class RayCollector:
    """PPO's collector with ``cfg.workers`` rollout workers on Ray (see the module docstring); a context manager.

    Args:
        cfg: the run's configuration (``workers`` >= 1).
        address: the Ray cluster to join (None: ``RAY_ADDRESS`` if set, else start a local Ray).
        ready_timeout_s: seconds the workers may take to start.

    Raises:
        ConfigError: Ray is not installed, or ``cfg.workers`` is 0.
        NetsliceError: the workers did not start in time (e.g. a cluster without a free CPU per worker).
    """

    def __init__(self, cfg: RunConfig, address: str | None = None, ready_timeout_s: float = READY_TIMEOUT_S) -> None:
        if cfg.workers < 1:
            raise ConfigError(f"workers: a RayCollector needs at least 1 worker, got {cfg.workers}")
        ray = import_ray()
        self._ray = ray
        self.workers: list[Any] = []
        address = address or os.environ.get("RAY_ADDRESS") or None
        self.owns_ray = not ray.is_initialized()
        if self.owns_ray:
            if address is None:
                ray.init(address="local", num_cpus=max(cfg.workers, os.cpu_count() or 1), include_dashboard=False,
                         logging_level="warning", log_to_driver=True)  # fmt: skip
            else:
                ray.init(address=address, logging_level="warning")
        self.address = address or "local"
        try:
            if Path(cfg.scenario).exists():  # a YAML path: the workers may run elsewhere
                cfg = replace(cfg, scenario=str(Path(cfg.scenario).resolve()))
            actor = ray.remote(num_cpus=1)(RolloutWorker)
            self.workers = [actor.remote(cfg, i) for i in range(cfg.workers)]
            try:
                specs = ray.get([w.spec.remote() for w in self.workers], timeout=ready_timeout_s)
            except ray.exceptions.GetTimeoutError:
                raise NetsliceError(
                    f"workers: {cfg.workers} rollout workers did not start within {ready_timeout_s:.0f} s on Ray "
                    f"({self.address}; resources {ray.cluster_resources()}): each needs 1 CPU"
                ) from None
        except BaseException:
            self.close()
            raise
        self.pids = [int(s["pid"]) for s in specs]
        self.num_envs = sum(int(s["num_envs"]) for s in specs)
        self.n_obs, self.n_act = int(specs[0]["n_obs"]), int(specs[0]["n_act"])
        self.slice_names: tuple[str, ...] = tuple(specs[0]["slice_names"])
        #: Seconds of the last :meth:`collect`: ``total`` (the round trip), ``workers`` (the slowest worker's own
        #: rollout), ``to_workers`` (until the last worker started: the weights' put, the calls' dispatch and
        #: arguments' transfer) and ``from_workers`` (from the first worker's end until every part was received).
        self.last_timing: dict[str, float] = {}

    def collect(self, agent: ActorCritic, obs_rms: RunningMeanStd | None, update_obs: bool) -> Collected:
        """One rollout of every worker with the learner's ``agent`` and statistics, merged (see :func:`.merge`).

        ``update_obs`` is not used: the workers never update the statistics; the learner merges the returned
        moments (:attr:`~.collector.Collected.obs_moments`). The weights travel as numpy arrays (cheaper to
        serialise than tensors). :attr:`last_timing` splits the call's time.
        """
        start, sent = time.perf_counter(), time.time()
        weights = self._ray.put({k: v.detach().numpy().copy() for k, v in agent.state_dict().items()})
        rms = None if obs_rms is None else obs_rms.state_dict()
        calls = [w.collect.remote(weights, rms) for w in self.workers]
        replies = self._ray.get(calls)
        received = time.time()
        got = merge([part for part, _, _ in replies])
        self.last_timing = {
            "total": time.perf_counter() - start,
            "workers": got.seconds,
            "to_workers": max(started for _, started, _ in replies) - sent,
            "from_workers": received - min(ended for _, _, ended in replies),
        }
        return got

    def state(self) -> dict[str, Any]:
        """The checkpoint's ``noise_rng``, ``env`` and ``obs`` entries: one per worker, in worker order."""
        states = self._ray.get([w.state.remote() for w in self.workers])
        return {key: [s[key] for s in states] for key in ("noise_rng", "env", "obs")}

    def load_state(self, data: dict[str, Any]) -> None:
        """Continue every worker from :meth:`state`'s entries.

        Raises:
            CheckpointError: the entries are not one per worker (a checkpoint of a run without workers or with
                another number of them).
        """
        per_worker = [data[key] for key in ("noise_rng", "env", "obs")]
        if not all(isinstance(v, list) and len(v) == len(self.workers) for v in per_worker):
            raise CheckpointError(
                f"checkpoint: its rollout state is not that of {len(self.workers)} workers (written by a run without "
                "workers or with another number of them); resume with its configuration, or --no-resume"
            )
        self._ray.get([w.load_state.remote(dict(zip(("noise_rng", "env", "obs"), s, strict=True)))
                       for w, s in zip(self.workers, zip(*per_worker, strict=True), strict=True)])  # fmt: skip

    def close(self) -> None:
        """Kill the workers; ``ray.shutdown()`` if this collector initialised Ray (module docstring). Idempotent."""
        ray = self._ray
        if ray.is_initialized():
            for w in self.workers:
                ray.kill(w)
        self.workers = []
        if self.owns_ray and ray.is_initialized():
            ray.shutdown()

    def __enter__(self) -> RayCollector:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:  # fmt: skip
        self.close()
