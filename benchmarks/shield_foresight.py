"""How far the training shield can foresee the forecast planner's violations (issue 13: BC + switching), seeds 0-4.

Behaviour cloning copies the forecast planner (the BC teacher of ``netslice reproduce``), so a warm-started run
starts at the teacher's operating point, about 1 % of slots violating. Behind the shield, a run keeps to <= 0.1 %
only if the shield switches the slots that would violate. This benchmark measures, per seed, how many slots it
must switch to catch a given share of the teacher's violations, when its evaluator has seen plenty of the
teacher's own slots:

1. the evaluator (the shield's defaults, :class:`~netslice.intelligence.agents.shield_config.ShieldConfig`) is
   fitted on the shield's pretraining data around the teacher (as ``netslice train --warm-actor`` pretrains it
   around a clone) plus ``--train-days`` days of the teacher's own slots on ``N_ENVS`` other networks;
2. on ``--test-days`` days of fresh networks (seed ``1000 + S``), the teacher plays and the evaluator scores each
   network's slot with the switch rule's statistic (``mean - confidence_z * std``, the largest over the slices);
3. reported: the teacher's violation rate and usage, the rule-based policy's usage on the same networks, the
   share of the slots the rule switches at each ``--quantiles`` value and the share of violations it catches
   (recall), the share of slots to switch for a given recall (the statistic ranked: the best switch set this
   evaluator can pick), the violation rate by hour of day, and for a 0.1 % target the recall it needs, the switch
   share that takes and the usage while learning that implies (switched slots play the rule's allocation).

Writes ``benchmarks/results/shield_foresight.json``. Usage: ``python benchmarks/shield_foresight.py`` (about 10 min
on 2 cores: the planner plans every network every slot; ``--seeds`` to shrink it).
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, write_json

# isort: split
import argparse
import time
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.agents.shield_data import collect, sla_margin
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.policies.base import Policy
from netslice.intelligence.policies.bound import BoundPolicy
from netslice.intelligence.policies.forecast import ForecastPlanner
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.network.scenarios import Scenario, load

RESULT = RESULTS_DIR / "shield_foresight.json"
SCENARIO = "testbed-v0"
TEACHER = "forecast"
N_ENVS = 32
#: Seed offsets of the networks the evaluator learns from (pretraining, the teacher's own slots).
PRETRAIN_SEED, TRAIN_SEED = 2_000_000, 5_000_000
RECALLS = (0.5, 0.8, 0.9, 0.95, 0.99)
TARGET = 0.001  # the violation rate over a whole BC + switching run


def play(policy: Policy, envs: SliceVectorEnv, slots: int, seed: int) -> dict[str, NDArray[Any]]:
    """``slots`` slots of ``policy`` on ``envs``: obs, action, margin, violated, usage, hour per (slot, network)."""
    obs, _ = envs.reset(seed=seed)
    bind = getattr(policy, "bind", None)
    if callable(bind):
        bind(envs.orch)
    targets = envs.orch.planning_model().targets
    rows: dict[str, list[NDArray[Any]]] = {k: [] for k in ("obs", "action", "margin", "violated", "usage", "hour")}
    for _ in range(slots):
        action = np.asarray(policy.act(obs), dtype=np.float64)
        rows["obs"].append(np.asarray(obs, dtype=np.float32))
        rows["action"].append(action)
        obs, _, _, _, info = envs.step(action)
        rows["margin"].append(sla_margin(info["kpis"], targets))
        rows["violated"].append((np.asarray(info["cost"]) > 0.0).any(axis=1))
        rows["usage"].append(np.asarray(info["usage"], dtype=np.float64))
        rows["hour"].append(np.asarray(info["kpis"]["hour"]).reshape(-1))
    return {k: np.concatenate(v) for k, v in rows.items()}


def switch_share_for(score: NDArray[np.float64], violated: NDArray[np.bool_], recall: float) -> float:
    """The smallest share of slots that, switched in order of ``score`` (highest first), holds ``recall`` of them."""
    caught = np.cumsum(violated[np.argsort(-score, kind="stable")]) / max(int(violated.sum()), 1)
    return float((np.searchsorted(caught, recall) + 1) / score.size)


def run_seed(seed: int, sc: Scenario, quantiles: list[float], train_days: int, test_days: int) -> dict[str, Any]:
    """One seed's figures (see the module docstring)."""
    start = time.perf_counter()
    slots = sc.spec.slots_per_episode

    def teacher() -> BoundPolicy:
        return BoundPolicy(ForecastPlanner.from_spec(TEACHER, None))

    test_envs = SliceVectorEnv(N_ENVS, sc, seed=1000 + seed, include_kpis=True)
    test = play(teacher(), test_envs, test_days * slots, 1000 + seed)
    rule = play(RuleBasedPolicy.from_scenario(sc), test_envs, test_days * slots, 1000 + seed)
    own = play(teacher(), SliceVectorEnv(N_ENVS, sc, seed=TRAIN_SEED + seed, include_kpis=True),
               train_days * slots, TRAIN_SEED + seed)  # fmt: skip
    violated = test["violated"]
    u_teacher, u_rule, v = float(test["usage"].mean()), float(rule["usage"].mean()), float(violated.mean())
    hours = test["hour"].astype(int) % 24
    by_hour = np.bincount(hours, violated, 24) / np.bincount(hours, minlength=24)
    out: dict[str, Any] = {
        "seed": seed, "teacher/usage": u_teacher, "teacher/violation_rate": v, "rule/usage": u_rule,
        "teacher/violation_rate_by_hour": by_hour.tolist(),
        "test_slots": int(violated.size), "train_slots": int(own["obs"].shape[0]), "quantiles": {},
    }  # fmt: skip
    # The shield's pretraining data around the teacher (the quantile only changes the fit, not the data).
    pre_envs = SliceVectorEnv(N_ENVS, sc, seed=PRETRAIN_SEED + seed, include_kpis=True)
    pre_envs.reset(seed=PRETRAIN_SEED + seed)
    around = BoundPolicy(ForecastPlanner.from_spec(TEACHER, None), pre_envs.orch)
    targets = pre_envs.orch.planning_model().targets
    rng = np.random.default_rng(seed)
    data = collect(ShieldConfig(seed=seed), around, pre_envs, PRETRAIN_SEED + seed, rng, targets)
    n_act = int(np.prod(pre_envs.single_action_space.shape))
    for q in quantiles:
        cfg = replace(ShieldConfig(), quantile=q, seed=seed)
        shield = TrainingShield(cfg, around, data["obs"].shape[1], n_act, pre_envs.encoder.slice_names, targets)
        shield.evaluator.fit(np.concatenate([data["obs"], own["obs"]]), np.concatenate([data["action"], own["action"]]),
                             np.concatenate([data["margin"], own["margin"]]), cfg.pretrain_epochs)  # fmt: skip
        mean, std = shield.evaluator.predict(test["obs"], test["action"])
        score = (mean - cfg.confidence_z * std).max(axis=1)
        switched = score > 0.0
        need = 1.0 - TARGET / v if v > TARGET else 0.0
        share = switch_share_for(score, violated, need)
        out["quantiles"][str(q)] = {
            "switch_rate": float(switched.mean()),
            "recall": float((switched & violated).sum() / max(int(violated.sum()), 1)),
            "switch_share_for_recall": {str(r): switch_share_for(score, violated, r) for r in RECALLS},
            "target/recall_needed": need,
            "target/switch_share": share,
            "target/usage_while_learning": u_teacher * (1.0 - share) + u_rule * share,
        }
    out["seconds"] = time.perf_counter() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--quantiles", type=float, nargs="+", default=[0.95, 0.98])
    parser.add_argument("--train-days", type=int, default=10)
    parser.add_argument("--test-days", type=int, default=8)
    args = parser.parse_args()
    sc = load(SCENARIO)
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(seed, sc, args.quantiles, args.train_days, args.test_days))
        print({k: v for k, v in rows[-1].items() if k != "teacher/violation_rate_by_hour"}, flush=True)
    summary: dict[str, Any] = {}
    for q in map(str, args.quantiles):
        per = [r["quantiles"][q] for r in rows]
        summary[q] = {
            key: {"mean": float(np.mean([p[key] for p in per])), "min": float(np.min([p[key] for p in per])),
                  "max": float(np.max([p[key] for p in per]))}
            for key in ("switch_rate", "recall", "target/switch_share", "target/usage_while_learning")
        }  # fmt: skip
        for r in map(str, RECALLS):
            shares = [p["switch_share_for_recall"][r] for p in per]
            summary[q][f"switch_share_for_recall/{r}"] = {"mean": float(np.mean(shares)), "max": float(np.max(shares))}
    meta = {"benchmark": "shield_foresight", "scenario": SCENARIO, "teacher": TEACHER, "n_envs": N_ENVS,
            "train_days": args.train_days, "test_days": args.test_days, "target": TARGET, **machine_info()}  # fmt: skip
    write_json(RESULT, {"meta": meta, "summary": summary, "seeds": rows})
    print(summary)


if __name__ == "__main__":
    main()
