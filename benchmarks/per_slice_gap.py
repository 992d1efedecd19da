"""Where the per-slice agent's usage above the forecast planner's comes from (metro-dynamic-v0, at most 5 live).

Run from the repository root (no other heavy process on the machine)::

    python benchmarks/per_slice_gap.py --agent runs/per-slice [RUN ...] [--scales 1 0.97 0.94 0.91] [--days 2] \
        [--n-envs 8] [--seed 1000] [--out ...]

Three measurements on the per-slice benchmark's traces (:mod:`per_slice_agents`; the same seed gives the same
requests, admissions and traffic), each against the forecast planner measured here:

* ``channel_memory``: the forecast planner with and without its memory of the channel. The planner plans over
  channel scenarios around the forecast of the coming slot's shadowing from the last slot's
  (``N(rho s, sigma^2 (1 - rho^2))``, :mod:`netslice.intelligence.policies.channel`); without the memory it
  plans around the stationary prior ``N(0, sigma^2)`` in every slot, as a policy that measured nothing of the
  per-cell channel would. The difference is what knowing the last slot's shadowing of every cell is worth. The
  slice agent sees its slice's KPIs, never the per-cell channel.
* ``forecast/cell-mean-channel-memory``: the planner remembering only the mean over cells of the last slot's
  shadowing (per env, direction and slice), a summary whose size does not depend on the network, with the
  per-cell spread it leaves unknown in its forecast's variance: ``N(r m, r^2 sigma^2 (1 - 1/n) + sigma^2
  (1 - r^2))`` for ``n`` cells, ``r = rho^gap``. What a slice-level channel summary could give a slice agent.
* ``scaled``: the trained agent's deterministic shares (PRB, transport, core and edge rows; the MCS caps kept)
  multiplied by each ``--scales`` value: the agent's usage and violations along its own risk curve, so that it
  can be compared with the planner at the planner's violation rate. Trained with its violation limit on the
  exploring policy, the deterministic agent violates less than the limit; this shows what that margin costs.
  With several ``--agent`` runs (e.g. seeds of one command) the rows of the second are ``agent2/x<scale>``, etc.

Every row carries :func:`~netslice.intelligence.dynamic_eval.evaluate_dynamic`'s ``usage/<domain>`` and
``usage/<domain>/<kind>``: in which domain, and for which kind of slice, the agent's usage exceeds the planner's.

Diagnostics only: neither the scaled agent nor the memoryless planner is a policy of the project.
Results: ``benchmarks/results/per_slice_gap.json``.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, parser, write_json

# isort: split
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.dynamic_eval import evaluate_dynamic
from netslice.intelligence.policies.channel import ShadowForecast
from netslice.intelligence.policies.forecast import ForecastPlanner
from netslice.intelligence.policies.shared_slice import SharedSlicePolicy
from netslice.network.allocation import MCS_DL, MCS_UL, N_RESOURCES
from netslice.network.ran import RanParams
from netslice.network.scenarios import Scenario, load

DEFAULT_OUT = RESULTS_DIR / "per_slice_gap.json"
#: The rows a scale multiplies: every share, not the MCS caps.
SHARE_ROWS = [r for r in range(N_RESOURCES) if r not in (MCS_UL, MCS_DL)]


class MemorylessChannel(ShadowForecast):
    """A shadowing forecast that forgets every slot it saw: the stationary prior in every slot."""

    def scenarios(
        self, ran: RanParams, shadow: NDArray[np.float64], episode_slot: NDArray[np.int64], run_slot: int, z: float
    ) -> NDArray[np.float64]:
        """The prior's channel scenarios (see :meth:`ShadowForecast.scenarios`), remembering nothing."""
        self.reset()
        return super().scenarios(ran, shadow, episode_slot, run_slot, z)


class CellMeanChannel(ShadowForecast):
    """A shadowing forecast that remembers the mean over cells of the last slot's shadowing only."""

    def moments(
        self, sigma: float, decay: NDArray[np.float64], last: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The cell-mean forecast, with the per-cell spread it leaves unknown in the variance (module docstring)."""
        n_cells = last.shape[2]
        std = np.sqrt(decay**2 * sigma**2 * (1.0 - 1.0 / n_cells) + sigma**2 * (1.0 - decay**2))
        return decay * last.mean(axis=2, keepdims=True), std


class ScaledSlicePolicy(SharedSlicePolicy):
    """A trained slice agent whose share rows are multiplied by ``scale``."""

    def __init__(self, base: SharedSlicePolicy, scale: float) -> None:
        super().__init__(base.actor, f"{base.name} x{scale:g}")
        self.scale = scale

    def act_agents(self, obs: NDArray[np.floating]) -> NDArray[np.float64]:
        """The agent's columns, shares scaled."""
        out = super().act_agents(obs)
        out[:, SHARE_ROWS] *= self.scale
        return out


def _measure(policy: Any, sc: Scenario, args: Any) -> dict[str, Any]:
    start = time.perf_counter()
    row = evaluate_dynamic(policy, sc, days=args.days, n_envs=args.n_envs, seed=args.seed).as_dict()
    row["wall_s"] = time.perf_counter() - start
    return row


def main() -> None:
    """Measure both diagnostics and write the JSON."""
    p = parser(__doc__, DEFAULT_OUT)
    p.add_argument("--agent", required=True, nargs="+", help="per-slice run folders or their checkpoint.pt")
    p.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.97, 0.94, 0.91])
    p.add_argument("--days", type=int, default=2)
    p.add_argument("--n-envs", type=int, default=8)
    p.add_argument("--seed", type=int, default=1000)
    args = p.parse_args()
    sc = load("metro-dynamic-v0")
    planner = ForecastPlanner.create()
    points = planner.channel.points if planner.channel else 5
    memoryless, cell_mean = ForecastPlanner.create(), ForecastPlanner.create()
    memoryless.channel, cell_mean.channel = MemorylessChannel(points), CellMeanChannel(points)
    rows = {
        "forecast": _measure(planner, sc, args),
        "forecast/no-channel-memory": _measure(memoryless, sc, args),
        "forecast/cell-mean-channel-memory": _measure(cell_mean, sc, args),
    }
    for i, run in enumerate(args.agent):
        agent = SharedSlicePolicy.load(run)
        label = "agent" if i == 0 else f"agent{i + 1}"
        for s in args.scales:
            rows[f"{label}/x{s:g}"] = _measure(ScaledSlicePolicy(agent, s), sc, args)
    bar = rows["forecast"]["usage"]
    for name, r in rows.items():
        r["usage_vs_forecast"] = r["usage"] / bar
        line = (
            f"{name}: usage {r['usage']:.4f} ({r['usage_vs_forecast']:.3f}x), violations "
            f"{100 * r['violation_rate']:.2f} %, ready {100 * r['ready_rate']:.1f} %, {r['wall_s']:.0f} s"
        )
        print(line, flush=True)
    write_json(
        Path(args.out),
        {
            "benchmark": "per_slice_gap",
            "scenario": sc.name,
            "agents": [str(a) for a in args.agent],
            "days": args.days,
            "n_envs": args.n_envs,
            "seed": args.seed,
            "rows": rows,
            "machine": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
