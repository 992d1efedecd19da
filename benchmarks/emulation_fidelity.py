"""Simulator vs emulation: per-slice transport and edge errors over a grid, before and after calibration.

Run from the repository root, as root, with the ``emulation`` extra installed::

    python benchmarks/emulation_fidelity.py [--quick] [--no-edge] [--out benchmarks/results/emulation_fidelity.json]

What it does (``netslice.network.emulation.fidelity_study``; see docs/emulation.md, "Fidelity"):

* **transport**: a 10 Mbit/s link; slices with shares 0.1, 0.25 and 0.5 (HTB classes of 1, 2.5 and 5 Mbit/s,
  100 ms bfifo), offered Poisson UDP at 0.3, 0.5, 0.7, 0.9 and 1.2 of their rate, with 1200- and 400-byte
  payloads (30 points, 4 s windows after 1 s of warm-up, 2 repeats). The simulator predicts each point with
  ``transport_step`` on a one-link network, fed the payload rate the sender really offered.
* **edge**: a 2-core site; slices with quotas 0.1, 0.2 and 0.4 cores, Poisson requests (a Sobel edge map of a
  480 x 640 frame each) at 0.3, 0.5, 0.7 and 0.85 of the quota (12 points, 2 repeats). The simulator predicts
  each with ``edge_step``.
* **calibration**: the simulator's parameters fitted on half of each grid (a checkerboard over share x load),
  the errors reported on the other half, for two models of a slice's share. *Own rate*: a link of the share's
  rate (header overhead, effective transfer unit, fixed delay, burstiness); at the edge a slowed CPU (work per
  request, service-time variability, fixed time per request). *Shaper*: a token bucket on the link (the same
  overhead, then bucket depth, line rate, fixed delay, burstiness; one datagram per transfer unit); at the edge
  a CFS quota with the emulation's 100 ms period (the same three parameters).

Per KPI, the median relative error ``|sim - emu| / emu`` before and after calibration on the held-out half, and
the emulation's own run-to-run difference between the two repeats (the noise floor). ``--quick``: a 6-point
transport and 4-point edge grid, 2 s windows, one repeat (no noise floor). ``--window-s`` / ``--warmup-s`` /
``--repeats`` / ``--seed`` change the measurement (default 4 s / 1 s / 2; longer windows lower the noise floor near
saturation). A full run takes about 2 minutes with the defaults.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, loadavg, machine_info, parser, write_json

# isort: split
import dataclasses
import json
import platform
import time
from pathlib import Path
from typing import Any

from netslice.network.emulation import preflight
from netslice.network.emulation.fidelity_study import StudyConfig, error_table, reanalyse, run_study

DEFAULT_OUT = RESULTS_DIR / "emulation_fidelity.json"


def main() -> None:
    ap = parser(__doc__, DEFAULT_OUT, quick_help="a small grid, short windows, one repeat")
    ap.add_argument("--no-edge", action="store_true", help="skip the edge part")
    ap.add_argument("--window-s", type=float, default=None, help="measured window per point, s (default 4)")
    ap.add_argument("--warmup-s", type=float, default=None, help="traffic before the window, s (default 1)")
    ap.add_argument("--repeats", type=int, default=None, help="measurements of every point (default 2)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the Poisson senders (default 0)")
    ap.add_argument(
        "--reanalyse",
        type=Path,
        default=None,
        metavar="STUDY_JSON",
        help="predict, calibrate and compare a saved study's measurements again (no emulation, no root)",
    )
    args = ap.parse_args()
    if args.reanalyse is not None:
        report = reanalyse(json.loads(args.reanalyse.read_text()))
        report["reanalysed"] = {"git_commit": machine_info()["git_commit"], "from": str(args.reanalyse)}
        finish(report, args.out)
        return
    pf = preflight()
    if not pf.supports("transport"):
        raise SystemExit(f"the transport emulation is not supported here: {pf.reason('transport')}")
    config = StudyConfig.quick() if args.quick else StudyConfig()
    changes = {k: v for k, v in (("window_s", args.window_s), ("warmup_s", args.warmup_s),
                                 ("repeats", args.repeats), ("seed", args.seed)) if v is not None}  # fmt: skip
    config = dataclasses.replace(config, **changes)
    machine = machine_info()  # before the runs: the load average then is the one that matters
    machine["kernel"] = platform.release()
    machine["pyroute2"] = pf.check("pyroute2").detail
    edge = not args.no_edge and pf.supports("edge")
    if edge:
        machine["cgroup"] = pf.check("cgroup_cpu").detail
    t0 = time.perf_counter()
    report: dict[str, Any] = {"machine": machine} | run_study(config, transport=True, edge=edge)
    report["wall_s"] = time.perf_counter() - t0
    report["machine"]["loadavg_at_end_1_5_15"] = loadavg()
    finish(report, args.out)


def finish(report: dict[str, Any], out: Path) -> None:
    """Add the summary, write the report, print the fitted models and the error table."""
    report["summary"] = {
        part: {
            "median_rel_error_held_out": {
                k: {"before": b, "after": a, "shaped": sh} for k, b, a, sh in error_table(report, part)
            },
            "median_rel_error_saturated_held_out": {
                k: {name: report[part][name][sub][k] for name in ("before", "after", "shaped")}
                for sub in ["median_saturated_held_out"]
                if sub in report[part]["before"]
                for k in report[part]["before"][sub]
            },
            "run_to_run": report[part]["run_to_run"],
            "model_after": report[part]["model_after"],
            "model_shaped": report[part]["model_shaped"],
        }
        for part in ("transport", "edge")
        if part in report
    }
    write_json(out, report)
    for part, summary in report["summary"].items():
        print(f"{part}: fitted own-rate model {summary['model_after']}")
        print(f"{part}: fitted shaper model {summary['model_shaped']}")
        noise = summary["run_to_run"] or {}
        for kpi, e in summary["median_rel_error_held_out"].items():
            floor = f"  (run-to-run {noise[kpi]:.3f})" if kpi in noise else ""
            print(f"  {kpi:18s} before {e['before']:8.3f}  after {e['after']:6.3f}  shaper {e['shaped']:6.3f}{floor}")
        for kpi, e in summary["median_rel_error_saturated_held_out"].items():
            errs = f"before {e['before']:8.3f}  after {e['after']:6.3f}  shaper {e['shaped']:6.3f}"
            print(f"  saturated {kpi:18s} {errs}")
    print(f"took {report.get('wall_s', 0.0):.0f} s of measurement; wrote {out}")


if __name__ == "__main__":
    main()
