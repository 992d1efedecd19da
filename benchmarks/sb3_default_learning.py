"""Does stable-baselines3 PPO with all its defaults learn an SLA-meeting policy on the registered id?

Run from the repository root (needs the ``sb3`` extra)::

    python benchmarks/sb3_default_learning.py [--runs scaled share] [--steps 262144] [--evals 4] [--seeds 0 1]

Each run trains ``PPO("MlpPolicy", make_vec_env("netslice/Slicing-v0", n_envs, seed, env_kwargs), seed=seed)``:
every hyper-parameter at SB3's default, only public APIs, on ``testbed-v0`` with the registered id's defaults
(penalized reward, cost penalty 8) and the run's ``action`` parametrisation (:data:`RUNS`). ``--evals`` times
along the way (after equal shares of ``--steps``) it evaluates the deterministic policy on ``--eval-seeds``
fresh one-day episodes (seeds 1000, 1001, ...) of the same id: mean usage (``info["usage"]``, the four
domains' mean) and the violation rate (share of slots where any slice's ``info["cost"] > 0``). The rule-based
policy is evaluated on the same seeds for reference. One thread; results in
``benchmarks/results/sb3_default_learning.json`` with machine info.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, write_json

# isort: split
import argparse
import time
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import stable_baselines3
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import netslice.intelligence.envs  # noqa: F401  # registers the id
from netslice.intelligence.envs import ENV_ID
from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.run import make_policy
from netslice.network.scenarios import load

RESULT = RESULTS_DIR / "sb3_default_learning.json"
#: make() keyword arguments and PPO keyword arguments of each run (``{}``: the defaults).
RUNS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "scaled": ({}, {}),
    "share": ({"action": "share"}, {}),
    "scaled-logstd-1": ({}, {"policy_kwargs": {"log_std_init": -1.0}}),
    "scaled-logstd-2": ({}, {"policy_kwargs": {"log_std_init": -2.0}}),
}
#: The target: usage below the rule-based policy's with at most this violation rate.
MAX_VIOLATION_RATE = 0.05


def evaluate_model(model: PPO, env_kwargs: dict[str, Any], seeds: range) -> dict[str, float]:
    """Mean usage and violation rate of the deterministic policy on one-day episodes of the given seeds."""
    env = gymnasium.make(ENV_ID, **env_kwargs)
    usage, violated = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, info = env.step(action)
            usage.append(float(np.mean(info["usage"])))
            violated.append(bool((np.asarray(info["cost"]) > 0.0).any()))
            done = terminated or truncated
    env.close()
    return {"usage": float(np.mean(usage)), "violation_rate": float(np.mean(violated))}


def rule_baseline(seeds: range) -> dict[str, float]:
    """The rule-based policy on one-day episodes of the same seeds (one network each)."""
    policy = make_policy("rule", load("testbed-v0"))
    usage, violated = [], []
    for seed in seeds:
        res = evaluate(policy, "rule", days=1, n_envs=1, seed=seed)
        usage.append(float(res.usage.mean()))
        violated.extend((res.cost > 0.0).any(axis=-1).reshape(-1).tolist())
    return {"usage": float(np.mean(usage)), "violation_rate": float(np.mean(violated))}


def run(name: str, steps: int, n_envs: int, evals: int, seeds: range, seed: int) -> dict[str, Any]:
    """Train one run (SB3 and env seed ``seed``), evaluating ``evals`` times; return its curve."""
    env_kwargs, ppo_kwargs = RUNS[name]
    vec = make_vec_env(ENV_ID, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
    model = PPO("MlpPolicy", vec, seed=seed, **ppo_kwargs)
    curve, train_s = [], 0.0
    for i in range(evals):
        t0 = time.perf_counter()
        model.learn(steps // evals, reset_num_timesteps=i == 0)
        train_s += time.perf_counter() - t0
        row = {"env_steps": int(model.num_timesteps), "train_wall_s": round(train_s, 1)}
        row.update(evaluate_model(model, env_kwargs, seeds))
        curve.append(row)
        print(name, seed, row, flush=True)
    vec.close()
    return {"env_kwargs": env_kwargs, "ppo_kwargs": ppo_kwargs, "curve": curve}


def main(argv: list[str] | None = None) -> int:
    """Run the requested runs, print their curves and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", nargs="+", choices=sorted(RUNS), default=list(RUNS))
    parser.add_argument("--steps", type=int, default=262_144)
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--evals", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (SB3 and make_vec_env)")
    parser.add_argument("--eval-seeds", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    seeds = range(1000, 1000 + args.eval_seeds)
    rule = rule_baseline(seeds)
    print("rule", rule, flush=True)
    results = {
        f"{name}-s{seed}": run(name, args.steps, args.n_envs, args.evals, seeds, seed)
        for name in args.runs
        for seed in args.seeds
    }
    machine = {**machine_info(), "stable_baselines3": stable_baselines3.__version__, "gymnasium": gymnasium.__version__}
    write_json(
        args.out,
        {
            "machine": machine,
            "config": {
                "steps": args.steps,
                "n_envs": args.n_envs,
                "evals": args.evals,
                "seeds": args.seeds,
                "eval_seeds": list(seeds),
            },
            "target": {"usage_below": rule["usage"], "max_violation_rate": MAX_VIOLATION_RATE},
            "rule": rule,
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
