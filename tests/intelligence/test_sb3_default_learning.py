"""Issue 10 item 3: stable-baselines3 PPO with its defaults learns an SLA-meeting policy from the registered id.

Only public APIs (Gymnasium, SB3) on ``netslice/Slicing-v0`` with its default make() arguments, in a fresh
interpreter. SB3 PPO trains in chunks of :data:`CHUNK` env steps, up to :data:`MAX_STEPS`; after each chunk the
deterministic policy is evaluated on one-day episodes of fresh seeds. The target (the first checkpoint that meets
it ends the run): mean usage below the rule-based policy's on the same seeds, at most 5 % violating slots.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.run import make_policy
from netslice.network.scenarios import load

#: Env steps between evaluations (32 updates of SB3's default 2048-step rollout with one env).
CHUNK = 65_536
#: The bound on the training budget.
MAX_STEPS = 262_144
EVAL_SEEDS = range(1000, 1016)
MAX_VIOLATION_RATE = 0.05

TRAIN_AND_EVALUATE = """
import json, sys
import gymnasium, numpy as np, torch
import netslice.intelligence.envs  # registers the id (gymnasium >= 1.0 loads no plugins)
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

torch.set_num_threads(1)
chunk, max_steps, first, stop = (int(x) for x in sys.argv[1:5])
rule_usage, max_violation_rate = float(sys.argv[5]), float(sys.argv[6])
model = PPO("MlpPolicy", make_vec_env("netslice/Slicing-v0", n_envs=1, seed=0), seed=0)
env = gymnasium.make("netslice/Slicing-v0")
while model.num_timesteps < max_steps:
    model.learn(chunk, reset_num_timesteps=model.num_timesteps == 0)
    usage, violated = [], []
    for seed in range(first, stop):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, info = env.step(action)
            usage.append(float(np.mean(info["usage"])))
            violated.append(bool((info["cost"] > 0).any()))
            done = terminated or truncated
    row = {"steps": model.num_timesteps, "usage": float(np.mean(usage)), "violation_rate": float(np.mean(violated))}
    print(json.dumps(row), flush=True)
    if row["usage"] < rule_usage and row["violation_rate"] <= max_violation_rate:
        break
"""


def _rule_usage() -> float:
    policy = make_policy("rule", load("testbed-v0"))
    return float(np.mean([evaluate(policy, "rule", days=1, n_envs=1, seed=s).usage.mean() for s in EVAL_SEEDS]))


@pytest.mark.slow
def test_sb3_ppo_defaults_learn_an_sla_meeting_policy_from_the_default_reward() -> None:
    pytest.importorskip("stable_baselines3")
    rule = _rule_usage()
    assert rule == pytest.approx(0.633, abs=0.01)  # the rule-based policy's documented usage (no violation)
    args = (CHUNK, MAX_STEPS, EVAL_SEEDS.start, EVAL_SEEDS.stop, rule, MAX_VIOLATION_RATE)
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_AND_EVALUATE, *map(str, args)],
        capture_output=True, text=True, timeout=900, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    curve = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    last = curve[-1]
    assert last["usage"] < rule, curve
    assert last["violation_rate"] <= MAX_VIOLATION_RATE, curve
