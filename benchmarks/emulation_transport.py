"""Emulated transport data plane: per-slice throughput vs HTB rate, slice isolation, rate-change time.

Run from the repository root, as root, with the ``emulation`` extra installed::

    python benchmarks/emulation_transport.py [--quick] [--out benchmarks/results/emulation_transport.json]

What it measures (``netslice.network.emulation``: sender namespaces, a router namespace with one HTB class per
slice on its egress, a receiver namespace, Python UDP generators; see docs/emulation.md):

* **throughput**: slices at HTB rates 4, 12 and 20 Mbit/s, each offered 1.5x its rate (1200-byte payloads;
  the 4 Mbit/s slice also with 200-byte ones), a 2 s window after 0.5 s of warm-up; per slice the received UDP
  payload rate over ``rate x goodput_factor`` (payload / (payload + 42 header bytes)). Target: within 3 %.
* **isolation**: an eMBB-like slice (12 Mbit/s) offered 24 Mbit/s and a URLLC-like slice (4 Mbit/s) carrying
  0.8 Mbit/s of 200-byte datagrams, 2 s window; one-way delay percentiles of both. The eMBB slice's delay is what
  the URLLC traffic would see if it shared the eMBB queue (one FIFO: no slicing). Target: URLLC p50 < 1 ms.
  The same URLLC flow alone (no eMBB traffic) is the reference.
* **rate change**: one slice offered 30 Mbit/s, its rate changed 20 -> 6 -> 20 Mbit/s through pyroute2; the
  received rate in 10 ms bins, and the time after the change of the first 10 ms bin within 15 % of the new rate
  (and of the first 50 ms bin). Target: within 200 ms. Also the wall time of the ``set_rate`` call.
* **delay line**: the isolation set-up with a 10 ms TUN delay line on the router (``delay_ms=10``; eMBB offered
  1.5x its rate): one-way delay percentiles, and the eMBB throughput over its expected goodput.
* **setup**: wall time to build a 3-slice emulation (namespaces, veths, HTB tree, receivers) and to remove it.
* **edge** (the edge emulation, when the machine has a CPU cgroup interface; ``--no-edge`` skips it): a slice
  whose server does a Sobel edge map of a 480 x 640 frame per request, Poisson requests. (a) The quota cap:
  300 requests/s (about 0.45 cores of work) under a 0.25-core quota; the CPU the server got over the quota.
  (b) Response and service time vs quota: 150 requests/s (about 0.22 cores) under no quota, 0.5, 0.3 and 0.25 cores
  (100 ms period); 2 s windows after 0.5 s of warm-up.

Each part runs ``repeats`` times (3; 1 with ``--quick``); the JSON has every repeat.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, loadavg, machine_info, parser, write_json

# isort: split
import platform
import time
from typing import Any

import numpy as np

from netslice.network.emulation import preflight
from netslice.network.emulation.edge import EdgeConfig, EdgeEmulation, EdgeSlice
from netslice.network.emulation.measure import goodput_factor, throughput_series, window_stats
from netslice.network.emulation.transport import SliceLink, TransportConfig, TransportEmulation

DEFAULT_OUT = RESULTS_DIR / "emulation_transport.json"
WARMUP_S = 0.5
WINDOW_S = 2.0


def throughput_run() -> list[dict[str, Any]]:
    """Each slice saturated at 1.5x its rate: received payload rate over the expected goodput."""
    slices = (SliceLink("s4", 4.0), SliceLink("s12", 12.0), SliceLink("s20", 20.0), SliceLink("s4small", 4.0))
    sizes = {"s4": 1200, "s12": 1200, "s20": 1200, "s4small": 200}
    with TransportEmulation(TransportConfig(slices=slices)) as emu:
        for s in slices:
            emu.start_flow(s.name, rate_mbps=1.5 * s.rate_mbps, packet_bytes=sizes[s.name])
        emu.measure(WARMUP_S)
        stats = emu.measure(WINDOW_S)
    out = []
    for s in slices:
        expected = s.rate_mbps * goodput_factor(sizes[s.name])
        st = stats[s.name]
        out.append({"htb_rate_mbps": s.rate_mbps, "payload_bytes": sizes[s.name], "expected_goodput_mbps": expected,
                    "measured_mbps": st.throughput_mbps, "ratio": st.throughput_mbps / expected, "loss": st.loss,
                    "delay_p50_ms": st.delay_p50_ms})  # fmt: skip
    return out


def isolation_run(with_embb: bool) -> dict[str, Any]:
    """URLLC-like slice next to a saturated eMBB-like slice (or alone): one-way delay percentiles."""
    slices = (SliceLink("embb", 12.0), SliceLink("urllc", 4.0))
    with TransportEmulation(TransportConfig(slices=slices)) as emu:
        if with_embb:
            emu.start_flow("embb", rate_mbps=24.0, packet_bytes=1200)
        emu.start_flow("urllc", rate_mbps=0.8, packet_bytes=200)
        emu.measure(WARMUP_S)
        stats = emu.measure(WINDOW_S)
    keys = ("throughput_mbps", "delay_p50_ms", "delay_p90_ms", "delay_p99_ms", "loss")
    return {
        name: {k: getattr(stats[name], k) for k in keys} for name in (("embb", "urllc") if with_embb else ("urllc",))
    }


def delay_line_run() -> dict[str, Any]:
    """Both slices through a 10 ms delay line: the added delay, and the shaping behind it."""
    slices = (SliceLink("embb", 12.0), SliceLink("urllc", 4.0))
    with TransportEmulation(TransportConfig(slices=slices, delay_ms=10.0)) as emu:
        emu.start_flow("embb", rate_mbps=18.0, packet_bytes=1200)
        emu.start_flow("urllc", rate_mbps=0.8, packet_bytes=200)
        emu.measure(WARMUP_S)
        stats = emu.measure(WINDOW_S)
    keys = ("throughput_mbps", "delay_p50_ms", "delay_p90_ms", "delay_p99_ms", "loss")
    out: dict[str, Any] = {name: {k: getattr(stats[name], k) for k in keys} for name in ("embb", "urllc")}
    out["embb"]["ratio"] = stats["embb"].throughput_mbps / (12.0 * goodput_factor(1200))
    return out


def rate_change_run() -> list[dict[str, Any]]:
    """20 -> 6 -> 20 Mbit/s under a 30 Mbit/s offered load: how soon the received rate follows."""
    size = 1200
    with TransportEmulation(TransportConfig(slices=(SliceLink("embb", 20.0),))) as emu:
        emu.start_flow("embb", rate_mbps=30.0, packet_bytes=size)
        time.sleep(1.0)
        changes = []
        for rate in (6.0, 20.0):
            t = time.monotonic_ns()
            emu.set_rate("embb", rate)
            call_ms = (time.monotonic_ns() - t) / 1e6
            changes.append((t, rate, call_ms))
            time.sleep(1.0)
        emu.collect()
        _, received = emu.logs("embb")
    out = []
    for t, rate, call_ms in changes:
        target = rate * goodput_factor(size)
        result: dict[str, Any] = {"new_rate_mbps": rate, "set_rate_call_ms": call_ms, "target_goodput_mbps": target}
        for bin_ms in (10, 50):
            series = throughput_series(received, t, t + 1_000_000_000, bin_ms * 1_000_000)
            hits = np.flatnonzero(np.abs(series / target - 1) <= 0.15)
            result[f"visible_after_ms_{bin_ms}ms_bins"] = float(hits[0] * bin_ms) if hits.size else None
            if bin_ms == 10:
                result["series_10ms_mbps_first_300ms"] = [round(float(x), 2) for x in series[:30]]
        settled = window_stats("embb", np.zeros((0, 2), np.int64), received, t + 200_000_000, t + 1_000_000_000)
        result["settled_ratio_200ms_to_1s"] = settled.throughput_mbps / target
        out.append(result)
    return out


def setup_run() -> dict[str, float]:
    """Wall time to build and to remove a 3-slice emulation."""
    slices = (SliceLink("a", 10.0), SliceLink("b", 5.0), SliceLink("c", 2.0))
    emu = TransportEmulation(TransportConfig(slices=slices))
    t0 = time.perf_counter()
    emu.start()
    t1 = time.perf_counter()
    emu.close()
    return {"setup_s": t1 - t0, "teardown_s": time.perf_counter() - t1}


def edge_run() -> dict[str, Any]:
    """The quota cap, and the response/service time at three quotas."""
    keys = ("cpu_cores", "cpu_ms_mean", "service_p50_ms", "service_p99_ms", "response_p50_ms", "response_p90_ms",
            "response_p99_ms", "throttled_ms", "unserved")  # fmt: skip
    out: dict[str, Any] = {}
    with EdgeEmulation(EdgeConfig(slices=(EdgeSlice("capped", cpu_cores=0.25),))) as emu:
        emu.start_requests("capped", rate_per_s=300.0)
        emu.measure(WARMUP_S)
        st = emu.measure(WINDOW_S)["capped"]
    out["cap"] = {"quota_cores": 0.25, "offered_per_s": 300.0, **{k: getattr(st, k) for k in keys},
                  "used_over_quota": st.cpu_cores / 0.25}  # fmt: skip
    out["latency_vs_quota"] = []
    for cores in (None, 0.5, 0.3, 0.25):
        with EdgeEmulation(EdgeConfig(slices=(EdgeSlice("mar", cpu_cores=cores),))) as emu:
            emu.start_requests("mar", rate_per_s=150.0)
            emu.measure(WARMUP_S)
            st = emu.measure(WINDOW_S)["mar"]
        out["latency_vs_quota"].append(
            {"quota_cores": cores, "offered_per_s": 150.0, **{k: getattr(st, k) for k in keys}}
        )
    return out


def main() -> None:
    ap = parser(__doc__, DEFAULT_OUT, quick_help="one repeat of each part instead of three")
    ap.add_argument("--no-edge", action="store_true", help="skip the edge part")
    args = ap.parse_args()
    pf = preflight()
    if not pf.supports("transport"):
        raise SystemExit(f"the transport emulation is not supported here: {pf.reason('transport')}")
    repeats = 1 if args.quick else 3
    machine = machine_info()  # before the runs: the load average then is the one that matters
    machine["kernel"] = platform.release()
    machine["pyroute2"] = pf.check("pyroute2").detail
    report: dict[str, Any] = {"machine": machine, "repeats": repeats}
    report["setup"] = [setup_run() for _ in range(repeats)]
    report["throughput"] = [throughput_run() for _ in range(repeats)]
    report["isolation"] = [{"with_embb": isolation_run(True), "urllc_alone": isolation_run(False)}
                           for _ in range(repeats)]  # fmt: skip
    report["rate_change"] = [rate_change_run() for _ in range(repeats)]
    if pf.supports("delay"):
        report["delay_line"] = [delay_line_run() for _ in range(repeats)]
    if not args.no_edge and pf.supports("edge"):
        report["cgroup"] = pf.check("cgroup_cpu").detail
        report["edge"] = [edge_run() for _ in range(repeats)]
    ratios = [r["ratio"] for rep in report["throughput"] for r in rep]
    urllc_p50 = [rep["with_embb"]["urllc"]["delay_p50_ms"] for rep in report["isolation"]]
    visible = [c["visible_after_ms_10ms_bins"] for rep in report["rate_change"] for c in rep]
    report["summary"] = {
        "throughput_ratio_min": min(ratios),
        "throughput_ratio_max": max(ratios),
        "throughput_within_3pct": all(abs(r - 1) <= 0.03 for r in ratios),
        "urllc_p50_ms_with_saturated_embb_max": max(urllc_p50),
        "embb_p50_ms_median": float(
            np.median([rep["with_embb"]["embb"]["delay_p50_ms"] for rep in report["isolation"]])
        ),
        "isolation_urllc_p50_below_1ms": max(urllc_p50) < 1.0,
        "rate_change_visible_ms_max": max(v if v is not None else float("inf") for v in visible),
        "rate_change_within_200ms": all(v is not None and v <= 200 for v in visible),
    }
    if "edge" in report:
        used = [rep["cap"]["used_over_quota"] for rep in report["edge"]]
        report["summary"]["edge_used_over_quota_min"] = min(used)
        report["summary"]["edge_used_over_quota_max"] = max(used)
    report["machine"]["loadavg_at_end_1_5_15"] = loadavg()
    write_json(args.out, report)
    for key, value in report["summary"].items():
        print(f"{key}: {value}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
