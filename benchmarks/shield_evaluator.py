"""Training shield on testbed-v0: pretraining cost, held-out precision/recall/switch rate per target, learn() cost.

Three parts (issue 12, item 3):

1. **Pretraining** (``pretrain``): ``TrainingShield.pretrain`` with the default :class:`ShieldConfig` on its own
   simulator (128 networks x 240 slots; ``--quick``: 32 x 60): wall time and the ``shield/pretrain/*`` table.
2. **Targets** (``targets``): one set of pretraining transitions, the evaluator fitted on the training envs' rows
   for each variant (signed margin vs clipped cost; its 0.99 quantile, the default, vs its mean with tolerance
   -0.1; the per-slice, log-action evaluator vs the joint one), scored on the held-out envs' rows: precision,
   recall and switch rate at the default rule (``z = -1``; tolerance +0.02 for the cost, whose safe rows all
   read 0), and the operating curve of the same
   score ``max_k mean + std``: switch rate and precision at held-out recall 0.99 / 0.995 / 0.999, and the recall
   at the switch rate the default margin evaluator has.
3. **PPO's start** (``rollout``): the default shield pretrained as in 1, then ``--updates`` rollouts of 24 slots
   x 128 networks of PPO's initial policy (shares 0.1 with logit noise of std 0.22) through ``filter``, a
   ``learn`` after each: switch rate, violation rate of all slots played, misses (violating slots the agent
   played), and the wall time of each ``learn`` (N = 3,072 transitions). This is the shield's hardest regime: a
   policy that does not learn and violates about 96 % of the time without the shield.

Usage: ``python benchmarks/shield_evaluator.py [--quick]``; writes ``benchmarks/results/shield_evaluator.json``.
About 1 minute (``--quick``: 15 s) on one core.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, parser, write_json

# isort: split
import time
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch

from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.agents.shield_data import collect, split_rows
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.network import scenarios
from netslice.network.scenarios.sla import SlaTargets

RESULT = RESULTS_DIR / "shield_evaluator.json"
SCENARIO = "testbed-v0"
CARD = scenarios.load(SCENARIO)
#: The SLA targets of the margin (the scenario's: no slice is modified here).
TARGETS = SlaTargets.from_spec(CARD.spec)
#: Evaluator variants of part 2 (ShieldConfig overrides).
VARIANTS: dict[str, dict[str, Any]] = {
    "margin": {"target": "margin"},
    "margin-mean": {"target": "margin", "quantile": None, "tolerance": -0.1},
    "cost": {"target": "cost", "tolerance": 0.02, "quantile": None},
    "margin-joint": {"target": "margin", "per_slice": False, "log_action": False},
    "cost-joint": {"target": "cost", "tolerance": 0.02, "quantile": None, "per_slice": False, "log_action": False},
}
RECALLS = (0.99, 0.995, 0.999)


def _envs(n: int, seed: int) -> SliceVectorEnv:
    return SliceVectorEnv(num_envs=n, scenario=SCENARIO, seed=seed, include_kpis=True)


def _shield(cfg: ShieldConfig, envs: SliceVectorEnv) -> TrainingShield:
    baseline = RuleBasedPolicy.from_scenario(CARD)
    n_obs, n_act = _size(envs.single_observation_space), _size(envs.single_action_space)
    return TrainingShield(cfg, baseline, n_obs, n_act, envs.encoder.slice_names, targets=TARGETS)


def _size(space: Any) -> int:
    return int(np.prod(space.shape))


def pretraining(cfg: ShieldConfig, n_envs: int) -> dict[str, float]:
    """Part 1: the default pretraining, timed."""
    envs = _envs(n_envs, seed=11)
    return _shield(cfg, envs).pretrain(envs, seed=0)


def _curve(score: np.ndarray, violated: np.ndarray, switch_rate: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for recall in RECALLS:
        threshold = np.quantile(score[violated], 1.0 - recall)
        flagged = score >= threshold
        out[f"recall_{recall}"] = {
            "switch_rate": float(flagged.mean()),
            "precision": float((flagged & violated).sum() / max(flagged.sum(), 1)),
        }
    flagged = score >= np.quantile(score, 1.0 - switch_rate)  # the same switch rate as the reference
    out["recall_at_reference_switch_rate"] = float((flagged & violated).sum() / max(violated.sum(), 1))
    return out


def targets(cfg: ShieldConfig, n_envs: int) -> dict[str, Any]:
    """Part 2: each variant fitted on the same transitions, scored on the held-out envs."""
    envs = _envs(n_envs, seed=11)
    rng = np.random.default_rng(0)
    data = collect(cfg, RuleBasedPolicy.from_scenario(CARD), envs, 0, rng, TARGETS)
    train, test = split_rows(data["obs"].shape[0], n_envs, cfg.holdout, rng)
    violated = np.asarray((data["cost"][test] > 0).any(axis=1), dtype=np.bool_)
    out: dict[str, Any] = {"rows": {"train": int(train.size), "held_out": int(test.size)},
                           "held_out_violation_rate": float(violated.mean())}  # fmt: skip
    reference: float | None = None
    for name, overrides in VARIANTS.items():
        shield = _shield(replace(cfg, **overrides), envs)
        start = time.perf_counter()
        shield.evaluator.fit(data["obs"][train], data["action"][train], data[shield.cfg.target][train],
                             shield.cfg.pretrain_epochs)  # fmt: skip
        fit_s = time.perf_counter() - start
        m = shield.score(data["obs"][test], data["action"][test], data["cost"][test])
        mean, std = shield.evaluator.predict(data["obs"][test], data["action"][test])
        score = (mean + shield.cfg.tolerance + std).max(axis=1)  # the rule's score at z = -1, before the tolerance
        reference = m["shield/pretrain/switch_rate"] if reference is None else reference
        out[name] = {"overrides": overrides, "fit_s": fit_s,
                     "default_rule": {k.rsplit("/", 1)[1]: v for k, v in m.items()},
                     **_curve(score, violated, reference)}  # fmt: skip
    out["reference_switch_rate"] = reference
    return out


def rollout(cfg: ShieldConfig, n_envs: int, pre_envs: int, updates: int) -> dict[str, Any]:
    """Part 3: PPO's initial policy through the shield, learning after every rollout of 24 slots."""
    offline = _envs(pre_envs, seed=11)
    shield = _shield(cfg, offline)
    shield.pretrain(offline, seed=0)
    envs = _envs(n_envs, seed=3)
    obs, _ = envs.reset(seed=3)
    rng = np.random.default_rng(0)
    logit = np.log(0.1 / 0.9)
    rows = []
    for _ in range(updates):
        buf: dict[str, list[np.ndarray]] = {"obs": [], "action": [], "cost": [], "margin": [], "switched": []}
        for _ in range(24):
            agent = 1.0 / (1.0 + np.exp(-(logit + rng.normal(0.0, 0.22, (n_envs, _size(envs.single_action_space))))))
            enforced, switched = shield.filter(obs, agent)
            next_obs, _, _, _, info = envs.step(enforced)
            for key, value in (("obs", obs), ("action", enforced), ("cost", info["cost"]),
                               ("margin", shield.margin(info)), ("switched", switched)):  # fmt: skip
                buf[key].append(np.asarray(value))
            obs = next_obs
        cat = {k: np.concatenate(v) for k, v in buf.items()}
        violated = (cat["cost"] > 0).any(axis=1)
        m = shield.learn(cat["obs"], cat["action"], cat["cost"], margin=cat["margin"], switched=cat["switched"])
        rows.append({"switch_rate": float(cat["switched"].mean()), "violation_rate": float(violated.mean()),
                     "miss_rate": float((violated & ~cat["switched"]).mean()), "learn_s": m["shield/learn_s"],
                     "precision": m["shield/precision"], "recall": m["shield/recall"]})  # fmt: skip
    learn_s = [r["learn_s"] for r in rows]
    return {"n_envs": n_envs, "transitions_per_learn": 24 * n_envs, "updates": rows,
            "violation_rate_all": float(np.mean([r["violation_rate"] for r in rows])),
            "learn_s_median": float(np.median(learn_s)), "learn_s_max": float(np.max(learn_s))}  # fmt: skip


def main() -> None:
    """Run the three parts and write the JSON."""
    p = parser(__doc__, RESULT, "32 pretraining networks x 60 slots, 3 rollouts (a smoke run, noisy figures)")
    p.add_argument("--updates", type=int, default=10, help="rollouts of part 3")
    args = p.parse_args()
    torch.set_num_threads(1)
    pre_envs, slots = (32, 60) if args.quick else (128, 240)
    cfg = ShieldConfig(pretrain_slots=slots)
    updates = 3 if args.quick else args.updates
    result = {
        "meta": {
            "scenario": SCENARIO,
            "quick": args.quick,
            "pretrain_envs": pre_envs,
            "shield": asdict(cfg),
            "machine": machine_info(),
        },
        "pretrain": pretraining(cfg, pre_envs),
        "targets": targets(cfg, pre_envs),
        "rollout": rollout(cfg, 128, pre_envs, updates),
    }
    write_json(args.out, result)
    t, r = result["targets"], result["rollout"]
    print(f"pretrain: {result['pretrain']['shield/pretrain/seconds']:.1f} s, "
          f"{ {k.rsplit('/', 1)[1]: round(v, 4) for k, v in result['pretrain'].items()} }")  # fmt: skip
    for name in VARIANTS:
        print(f"{name}: default rule {t[name]['default_rule']}, recall at the reference switch rate "
              f"{t[name]['recall_at_reference_switch_rate']:.4f}, fit {t[name]['fit_s']:.1f} s")  # fmt: skip
    print(f"rollout: violation rate {r['violation_rate_all']:.5f}, learn {r['learn_s_median'] * 1e3:.0f} ms median")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
