"""Rollout throughput on Ray workers: env-steps/s of collection and of whole PPO updates, 1 vs 2 workers side by side.

Run from the repository root (needs the ray extra; no other heavy process on the machine)::

    python benchmarks/ray_rollout.py [--quick] [--n-envs 128 256 512 1024] [--workers 1 2] [--out ...]

For each ``n_envs`` (the rollout's networks, split equally among the workers: the same batch for every worker
count), one local Ray (one logical CPU per worker of every configuration) and one learner per configuration:
``local`` (the collector in this process, no Ray: the reference), then ``ray-1``, ``ray-2`` ... (``--workers``),
all alive at once. After
``--warmup`` updates each, ``--rounds`` rounds run ``--updates`` updates of every configuration in turn, the order
rotated each round, so that a drift of the machine's load hits them alike. Per update:

* ``collect``: env steps (``num_steps * n_envs``) over the wall time of the collector's call (the round trip:
  weights to Ray's store, every worker's rollout, the parts back and merged);
* ``update``: env steps over the whole update (collection, moments merge, ledger, GAE, the gradient epochs);
* ``worker_s``: the slowest worker's own collection time, measured inside the worker; ``overhead_s`` = the round
  trip minus it (RPC, serialisation, Ray's scheduling, the merge), of which ``to_workers_s`` (the weights' put and
  the calls' dispatch, until the last worker started) and ``from_workers_s`` (from the first worker's end until
  every part was received); ``learn_s``: the gradient epochs.

The figures are medians over all timed updates; ``speedup`` is ``ray-2`` over ``ray-1`` at the same ``n_envs``
(strong scaling: per round and overall); ``weak_scaling`` is ``ray-2`` at ``2 n`` over ``ray-1`` at ``n`` (each
worker keeps n networks), where both ``n_envs`` ran.
The issue's target: 2 workers >= 1.6x one worker (rollout throughput) on this 2-core machine. ``costs`` adds what
one call moves: the pickled size of the weights and of a worker's part, the time to pickle and unpickle them,
and the round trip of an empty actor call. ``parallel_efficiency``: the machine's own ceiling, without Ray: the
same local rollout (512 networks) in one plain process alone, and in two at once (their slower one), measured
before and after the Ray runs (this machine is a 2-vCPU VM: what its host leaves it varies).
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, loadavg, machine_info, parser, write_json

# isort: split
import multiprocessing as mp
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ray

from netslice.intelligence.agents.collector import Collected, RolloutCollector
from netslice.intelligence.agents.distributed import RayCollector
from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.ppo import PPO
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.run_config import RunConfig

DEFAULT_OUT = RESULTS_DIR / "ray_rollout.json"
TARGET_SPEEDUP = 1.6


class Timed:
    """A collector that records the wall time of each :meth:`collect` (the round trip)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.num_envs, self.n_obs, self.n_act = inner.num_envs, inner.n_obs, inner.n_act
        self.slice_names = inner.slice_names
        self.times: list[float] = []
        self.splits: list[dict[str, float]] = []

    def collect(self, agent: ActorCritic, obs_rms: RunningMeanStd | None, update_obs: bool) -> Collected:
        """The inner collector's rollout, timed."""
        start = time.perf_counter()
        got: Collected = self.inner.collect(agent, obs_rms, update_obs)
        self.times.append(time.perf_counter() - start)
        self.splits.append(dict(getattr(self.inner, "last_timing", {})))
        return got

    def state(self) -> dict[str, Any]:
        """The inner collector's state."""
        return dict(self.inner.state())

    def load_state(self, data: dict[str, Any]) -> None:
        """Restore the inner collector's state."""
        self.inner.load_state(data)


def learner(cfg: RunConfig, run_dir: Path) -> tuple[PPO, Timed]:
    if cfg.workers:
        inner: Any = RayCollector(cfg)
    else:
        inner = RolloutCollector(cfg.ppo, SliceVectorEnv(cfg.n_envs, cfg.scenario, seed=cfg.ppo.seed), cfg.safety)
    timed = Timed(inner)
    return PPO(cfg.ppo, None, run_dir, safety=cfg.safety, collector=timed), timed


def median(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def costs(ppo: PPO, collector: RayCollector) -> dict[str, float]:
    """What one call moves, and the round trip of an empty actor call."""
    weights = {k: v.detach().numpy().copy() for k, v in ppo.agent.state_dict().items()}  # as RayCollector sends
    rms = None if ppo.obs_rms is None else ppo.obs_rms.state_dict()
    part = ray.get(collector.workers[0].collect.remote(weights, rms))[0]
    out: dict[str, float] = {}
    for name, obj in (("weights", weights), ("part", part)):
        t0 = time.perf_counter()
        blob = pickle.dumps(obj, protocol=5)
        t1 = time.perf_counter()
        pickle.loads(blob)
        out[f"{name}_bytes"] = float(len(blob))
        out[f"{name}_pickle_roundtrip_ms"] = 1e3 * (time.perf_counter() - t0)
        out[f"{name}_pickle_ms"] = 1e3 * (t1 - t0)
    w = collector.workers[0]
    ray.get(w.spec.remote())
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        ray.get(w.spec.remote())
        times.append(time.perf_counter() - t0)
    out["empty_call_ms"] = 1e3 * median(times)
    return out


def bench(n_envs: int, workers: list[int], rounds: int, updates: int, warmup: int, tmp: Path) -> dict[str, Any]:
    base = RunConfig(n_envs=n_envs).overridden({"total_steps": 10**9, "checkpoint_every": 10**6})
    names = ["local", *(f"ray-{w}" for w in workers)]
    learners = {}
    for name, w in zip(names, [0, *workers], strict=True):
        ppo, timed = learner(base.overridden({"workers": w}), tmp / f"{n_envs}-{name}")
        ppo.train(max_updates=warmup)
        learners[name] = (ppo, timed)
    steps = base.ppo.num_steps * n_envs
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    per_round: list[dict[str, float]] = []
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        this_round: dict[str, list[float]] = {}
        for name in order:
            ppo, timed = learners[name]
            timed.times.clear()
            timed.splits.clear()
            history = ppo.train(max_updates=updates).history[-updates:]
            for row, total, split in zip(history, timed.times, timed.splits, strict=True):
                worker_s = row.get("time/worker_collect_s", total)
                rows[name].append({"collect_sps": steps / total, "update_sps": row["charts/sps"], "collect_s": total,
                                   "worker_s": worker_s, "overhead_s": total - worker_s,
                                   "to_workers_s": split.get("to_workers", 0.0),
                                   "from_workers_s": split.get("from_workers", 0.0),
                                   "learn_s": row["time/learn_s"], "rollout_s": row["time/rollout_s"]})  # fmt: skip
            this_round[name] = [steps / t for t in timed.times]
        if "ray-1" in this_round and "ray-2" in this_round:
            per_round.append({"round": r, "collect_speedup": median(this_round["ray-2"]) / median(this_round["ray-1"])})
    summary = {
        name: {key: median([row[key] for row in rows[name]]) for key in rows[name][0]} for name in names
    }  # fmt: skip
    result: dict[str, Any] = {"n_envs": n_envs, "steps_per_update": steps, "configs": summary, "rounds": per_round}
    if "ray-1" in summary and "ray-2" in summary:
        one, two = summary["ray-1"], summary["ray-2"]
        result["speedup"] = {
            "collect": two["collect_sps"] / one["collect_sps"],
            "update": two["update_sps"] / one["update_sps"],
            "worker_only": one["worker_s"] / two["worker_s"],
            "target_collect": TARGET_SPEEDUP,
            "met": two["collect_sps"] / one["collect_sps"] >= TARGET_SPEEDUP,
        }
    ray1 = learners.get("ray-1")
    if ray1 is not None:
        result["costs"] = costs(ray1[0], ray1[1].inner)
    for _, timed in learners.values():
        if isinstance(timed.inner, RayCollector):
            timed.inner.close()
    return result


def _plain_rollouts(n: int, reps: int, barrier: Any, out: Any) -> None:
    """In a plain process (no Ray): the median time of ``reps`` local rollouts of ``n`` networks, once all are ready."""
    import torch

    torch.set_num_threads(1)
    cfg = RunConfig(n_envs=n).overridden({"total_steps": 10**9})
    collector = RolloutCollector(cfg.ppo, SliceVectorEnv(n, cfg.scenario, seed=cfg.ppo.seed), cfg.safety)
    with tempfile.TemporaryDirectory() as tmp:
        ppo = PPO(cfg.ppo, None, tmp, collector=collector)
        for _ in range(3):
            collector.collect(ppo.agent, ppo.obs_rms, True)
        barrier.wait()
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            collector.collect(ppo.agent, ppo.obs_rms, True)
            times.append(time.perf_counter() - start)
    out.put(median(times))


def parallel_efficiency(n: int, reps: int = 15) -> dict[str, float]:
    """The machine's own ceiling, without Ray: one process's rollout alone, and with a second one beside it."""
    ctx = mp.get_context("spawn")
    timings = {}
    for k in (1, 2):
        barrier, out = ctx.Barrier(k), ctx.Queue()
        procs = [ctx.Process(target=_plain_rollouts, args=(n, reps, barrier, out)) for _ in range(k)]
        for p in procs:
            p.start()
        timings[k] = max(out.get() for _ in procs)
        for p in procs:
            p.join()
    return {"n_envs_per_process": n, "alone_ms": 1e3 * timings[1], "two_at_once_ms": 1e3 * timings[2],
            "efficiency": timings[1] / timings[2]}  # fmt: skip


def weak_scaling(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """2 workers with n networks each over 1 worker with n (from the runs at n and 2n networks), where both ran."""
    by_n = {r["n_envs"]: r["configs"] for r in results}
    out = []
    for n, configs in sorted(by_n.items()):
        double = by_n.get(2 * n, {})
        if "ray-1" in configs and "ray-2" in double:
            one, two = configs["ray-1"], double["ray-2"]
            out.append({"per_worker": n, "collect": two["collect_sps"] / one["collect_sps"],
                        "update": two["update_sps"] / one["update_sps"]})  # fmt: skip
    return out


def main() -> None:
    p = parser(__doc__, DEFAULT_OUT, "fewer rounds and updates (a smoke run)")
    p.add_argument("--n-envs", type=int, nargs="+", default=[128, 256, 512, 1024])
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--updates", type=int, default=6)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args()
    rounds, updates = (2, 3) if args.quick else (args.rounds, args.updates)
    # Every configuration's workers stay alive (idle while another runs): one logical CPU each.
    ceiling = parallel_efficiency(64 if args.quick else 512)
    print(f"two plain processes at once (no Ray), 512 networks each: {ceiling['efficiency']:.0%} of one alone")
    ray.init(address="local", num_cpus=max(sum(args.workers), os.cpu_count() or 1), include_dashboard=False,
             logging_level="warning")  # fmt: skip
    load_before = loadavg()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = [bench(n, args.workers, rounds, updates, args.warmup, Path(tmp)) for n in args.n_envs]
    finally:
        ray.shutdown()
    ceiling_after = parallel_efficiency(64 if args.quick else 512)
    print(f"... and after the Ray runs: {ceiling_after['efficiency']:.0%}")
    for res in results:
        print(f"n_envs {res['n_envs']}:")
        for name, s in res["configs"].items():
            print(f"  {name:8s} collect {s['collect_sps']:9,.0f} steps/s  update {s['update_sps']:9,.0f} steps/s  "
                  f"worker {1e3 * s['worker_s']:6.1f} ms  overhead {1e3 * s['overhead_s']:5.1f} ms (to "
                  f"{1e3 * s['to_workers_s']:4.1f}, from {1e3 * s['from_workers_s']:4.1f})  "
                  f"learn {1e3 * s['learn_s']:6.1f} ms")  # fmt: skip
        if "speedup" in res:
            sp = res["speedup"]
            print(f"  2 workers / 1: collect {sp['collect']:.2f}x, update {sp['update']:.2f}x, "
                  f"workers' own time {sp['worker_only']:.2f}x (target {TARGET_SPEEDUP}x collect)")  # fmt: skip
    weak = weak_scaling(results)
    for row in weak:
        print(f"  2 workers x {row['per_worker']} networks / 1 x {row['per_worker']}: collect {row['collect']:.2f}x, "
              f"update {row['update']:.2f}x")  # fmt: skip
    write_json(args.out, {
        "machine": {**machine_info(), "loadavg_before": load_before},
        "command": " ".join(["python", *sys.argv]),
        "settings": {"rounds": rounds, "updates": updates, "warmup": args.warmup, "workers": args.workers,
                     "scenario": RunConfig().scenario, "num_steps": RunConfig().ppo.num_steps},
        "notes": __doc__.split("\n\n", 2)[2] if __doc__ else "",
        "results": results,
        "weak_scaling": weak,
        "parallel_efficiency": {"before": ceiling, "after": ceiling_after},
    })  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
