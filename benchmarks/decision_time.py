"""One orchestration decision of every agent on city-v0 (1000 cells, 10 slices), on one core.

Run from the repository root (no other heavy process on the machine)::

    python benchmarks/decision_time.py [--scenario city-v0] [--repeats 50] [--out ...]

A decision is the path from the orchestrator's latest observation (one network) to the allocation of the coming
slot: encode the observation, run the actor (PyTorch, one thread), assemble the allocation. Timed per agent kind,
with actors of the default size (untrained weights: a decision costs the same whatever the weights):

* ``central``: the centralised agent (the flat observation of :mod:`netslice.intelligence.envs.features`, one
  actor for the whole ``(7, K)`` allocation);
* ``per-slice``: the shared slice agent run on every slice (:class:`~netslice.intelligence.policies.shared_slice.
  SharedSlicePolicy`), one batched forward over the K slices;
* ``per-domain``: the three domain-group agents with the adaptive SLA decomposition
  (:class:`~netslice.intelligence.agents.domain_policy.DomainPolicy`; one decision = all three, the budgets'
  update included).

Between two timed decisions the orchestrator runs a slot (untimed), so every decision sees a new observation.
Also timed, for scale: one orchestrator slot (``step``) of the same network. The issue's target: one decision
of every agent < 50 ms on one core. Figures: median and 95th percentile of ``--repeats`` decisions after a warm-up.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, parser, write_json

# isort: split
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from netslice.intelligence.agents.domain_agents import DomainAgents
from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.policy import PPOPolicy
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.envs.domain_vector import DomainVectorEnv
from netslice.intelligence.envs.features import Encoder
from netslice.intelligence.envs.slice_features import N_AGENT_FEATURES
from netslice.intelligence.policies.base import PolicyContext
from netslice.intelligence.policies.shared_slice import SharedSlicePolicy
from netslice.intelligence.run_config import RunConfig
from netslice.network import scenarios
from netslice.network.allocation import N_RESOURCES
from netslice.orchestration.orchestrator import Orchestrator

DEFAULT_OUT = RESULTS_DIR / "decision_time.json"
TARGET_MS = 50.0


def _actor(n_obs: int, n_act: int) -> PPOPolicy:
    hidden = tuple(RunConfig().ppo.hidden)  # the default size; the other settings cost nothing at decision time
    return PPOPolicy(ActorCritic(n_obs, n_act, hidden, init_log_std=-1.0, init_mean=0.3), None)


def _time(decide: Callable[[], Any], repeats: int, between: Callable[[], Any] | None = None) -> dict[str, float]:
    for _ in range(3):
        decide()
    samples = []
    for _ in range(repeats):
        if between is not None:
            between()  # a fresh observation (untimed): nothing is served from a cache of the last one
        start = time.perf_counter()
        decide()
        samples.append(1e3 * (time.perf_counter() - start))
    return {"median_ms": float(np.median(samples)), "p95_ms": float(np.percentile(samples, 95)), "n": repeats}


def main() -> None:
    """Time every agent kind's decision and one slot; write the JSON."""
    p = parser(__doc__, DEFAULT_OUT)
    p.add_argument("--scenario", default="city-v0")
    p.add_argument("--repeats", type=int, default=50)
    args = p.parse_args()
    torch.set_num_threads(1)
    machine = machine_info()
    sc = scenarios.load(args.scenario)
    orch = Orchestrator.create(sc, n_envs=1, seed=0)
    orch.step()  # an observation with KPIs
    k = sc.params.n_slices
    encoder = Encoder.from_scenario(sc)
    central = _actor(encoder.n_features, N_RESOURCES * k)
    per_slice = SharedSlicePolicy(_actor(N_AGENT_FEATURES, N_RESOURCES))

    def decide_central() -> Any:
        return central.act(encoder.encode(orch.observation())).reshape(1, N_RESOURCES, k)

    def decide_per_slice() -> Any:
        return per_slice.act_context(PolicyContext.of(orch))

    rows: dict[str, Any] = {
        "central": _time(decide_central, args.repeats, orch.step),
        "per-slice": _time(decide_per_slice, args.repeats, orch.step),
    }
    per_domain = DomainAgents(PPOConfig(seed=0), DomainVectorEnv(1, sc, seed=0, decomposition="adaptive")).policy()
    rows["per-domain"] = _time(lambda: per_domain.act_context(PolicyContext.of(orch)), args.repeats, orch.step)
    rows["orchestrator_slot"] = _time(orch.step, max(5, args.repeats // 5))
    for name, row in rows.items():
        print(f"{name}: median {row['median_ms']:.2f} ms, p95 {row['p95_ms']:.2f} ms")
    decisions = [r for n, r in rows.items() if n != "orchestrator_slot"]
    write_json(
        Path(args.out),
        {
            "benchmark": "decision_time",
            "scenario": sc.name,
            "cells": int(sc.params.n_cells),
            "slices": k,
            "target_ms": TARGET_MS,
            "met": all(r["p95_ms"] < TARGET_MS for r in decisions),
            "rows": rows,
            "machine": machine,
        },
    )
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
