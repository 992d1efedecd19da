"""``netslice emulate``: the emulated data plane's commands (check, clean, transport, edge, fidelity).

Registered on the command line's app by :mod:`netslice.cli`; the work is done by
:mod:`netslice.network.emulation` (imported when a command runs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from netslice.cli_common import console, fail
from netslice.errors import NetsliceError

app = typer.Typer(help="The emulated data plane (real Linux namespaces, HTB slices, traffic).", no_args_is_help=True)


@app.command()
def check(
    feature: Annotated[
        str | None, typer.Option(help="Exit with status 1 unless this feature is supported: transport, delay, edge.")
    ] = None,
) -> None:
    """Say what this machine supports for the emulation, and why not.

    Probes root, ip netns, veth, HTB, u32, bfifo, TUN, netem, pyroute2 and CPU cgroups (v2 cpu.max or v1 CFS
    quota) by using them; prints each check and which features (transport, delay, edge) work here.
    """
    from netslice.network.emulation.preflight import FEATURES, preflight

    if feature is not None and feature not in FEATURES:
        raise fail(f"unknown feature {feature!r} (one of {', '.join(FEATURES)})")
    result = preflight()
    table = Table(title="emulation preflight")
    for column in ("check", "ok", "detail"):
        table.add_column(column)
    for c in result.checks:
        table.add_row(c.name, "[green]yes[/green]" if c.ok else "[red]no[/red]", escape(c.detail))
    console.print(table)
    for name in FEATURES:
        why = escape(result.reason(name))
        verdict = "[green]supported[/green]" if result.supports(name) else f"[red]not supported[/red]: {why}"
        console.print(f"{name}: {verdict}", soft_wrap=True)
    if feature is not None and not result.supports(feature):
        raise typer.Exit(1)


@app.command()
def clean() -> None:
    """Remove what dead emulation runs left behind (namespaces, processes, cgroups named nse-<owner>-...).

    Objects of runs whose owner process is alive are kept.
    """
    from netslice.network.emulation.owner import clean_stale

    removed = clean_stale()
    console.print(f"removed the leftovers of {len(removed)} dead run(s){': ' + ', '.join(removed) if removed else ''}")


@app.command()
def transport(
    rates: Annotated[str, typer.Option(help="HTB rate of each slice, Mbit/s, comma-separated.")] = "20,10,5",
    offered: Annotated[str, typer.Option(help="Offered UDP payload rate of each slice, Mbit/s.")] = "30,2,6",
    packet_bytes: Annotated[str, typer.Option(help="UDP payload size of each slice, bytes.")] = "1200,200,1200",
    seconds: Annotated[float, typer.Option(min=0.1, help="Length of the measurement window, s.")] = 2.0,
    out: Annotated[Path | None, typer.Option(help="Also write the window's statistics here (JSON).")] = None,
) -> None:
    """Build a transport emulation (one HTB class per slice), send real UDP traffic, print one window's KPIs."""
    from netslice.network.emulation.transport import SliceLink, TransportConfig, TransportEmulation

    try:
        r, o, p = (_floats(rates), _floats(offered), _floats(packet_bytes))
        if not len(r) == len(o) == len(p):
            raise NetsliceError("--rates, --offered and --packet-bytes need one value per slice")
        config = TransportConfig(slices=tuple(SliceLink(f"s{k}", rate_mbps=x) for k, x in enumerate(r)))
        with TransportEmulation(config) as emu:
            for k, (rate, size) in enumerate(zip(o, p, strict=True)):
                emu.start_flow(f"s{k}", rate_mbps=rate, packet_bytes=int(size))
            emu.measure(0.3)  # warm-up: fill the queues
            stats = emu.measure(seconds)
    except NetsliceError as e:
        raise fail(e) from e
    table = Table(title=f"transport emulation, one {seconds:g} s window")
    for column in ("slice", "HTB Mbit/s", "goodput Mbit/s", "OWD p50 ms", "p99 ms", "loss"):
        table.add_column(column, justify="right")
    for k, s in enumerate(stats.values()):
        table.add_row(s.slice, f"{r[k]:g}", f"{s.throughput_mbps:.2f}", f"{s.delay_p50_ms:.3f}",
                      f"{s.delay_p99_ms:.3f}", f"{s.loss:.3f}")  # fmt: skip
    console.print(table)
    if out is not None:
        out.write_text(json.dumps({k: v.as_dict() for k, v in stats.items()}, indent=2) + "\n")


@app.command()
def edge(
    quotas: Annotated[str, typer.Option(help="CPU quota of each slice's cgroup, cores ('none': no cap).")] = "0.5,0.25",
    rates: Annotated[str, typer.Option(help="Poisson request rate of each slice, requests/s.")] = "150,150",
    seconds: Annotated[float, typer.Option(min=0.1, help="Length of the measurement window, s.")] = 2.0,
    out: Annotated[Path | None, typer.Option(help="Also write the window's statistics here (JSON).")] = None,
) -> None:
    """Build an edge emulation (one CPU cgroup per slice), send real requests, print one window's KPIs.

    Each request is a Sobel edge map of a 480 x 640 frame (about 1.5 ms of CPU on the project machines).
    """
    from netslice.network.emulation.edge import EdgeConfig, EdgeEmulation, EdgeSlice

    try:
        q = [None if x.strip().lower() == "none" else float(x) for x in quotas.split(",")]
        r = _floats(rates)
        if len(q) != len(r):
            raise NetsliceError("--quotas and --rates need one value per slice")
        config = EdgeConfig(slices=tuple(EdgeSlice(f"s{k}", cpu_cores=x) for k, x in enumerate(q)))
        with EdgeEmulation(config) as emu:
            for k, rate in enumerate(r):
                emu.start_requests(f"s{k}", rate_per_s=rate)
            emu.measure(0.3)  # warm-up
            stats = emu.measure(seconds)
    except (NetsliceError, ValueError) as e:
        raise fail(e) from e
    table = Table(title=f"edge emulation, one {seconds:g} s window")
    for column in ("slice", "quota", "req/s", "CPU cores", "service p50 ms", "response p50", "p99", "throttled ms"):
        table.add_column(column, justify="right")
    for k, s in enumerate(stats.values()):
        table.add_row(s.slice, "none" if q[k] is None else f"{q[k]:g}", f"{r[k]:g}", f"{s.cpu_cores:.3f}",
                      f"{s.service_p50_ms:.2f}", f"{s.response_p50_ms:.2f}", f"{s.response_p99_ms:.2f}",
                      f"{s.throttled_ms:.0f}")  # fmt: skip
    console.print(table)
    if out is not None:
        out.write_text(json.dumps({k: v.as_dict() for k, v in stats.items()}, indent=2) + "\n")


@app.command()
def fidelity(
    quick: Annotated[bool, typer.Option(help="A small grid, 2 s windows, one repeat (about 15 s).")] = False,
    no_edge: Annotated[bool, typer.Option(help="Skip the edge grid.")] = False,
    out: Annotated[Path | None, typer.Option(help="Also write the whole study here (JSON).")] = None,
) -> None:
    """Measure the simulator against the emulation over a grid of shares and loads, calibrate, print the errors.

    The median relative error of each per-slice KPI on the held-out half of the grid, before and after fitting
    the simulator's parameters on the other half, for two models of a slice's share: a link (a CPU) of the share's
    own rate, and a token-bucket shaper (a CFS quota) on the full-speed resource (see docs/emulation.md,
    "Fidelity"). About 90 s.
    """
    from netslice.network.emulation.fidelity_study import StudyConfig, error_table, run_study
    from netslice.network.emulation.preflight import preflight

    pf = preflight()
    if not pf.supports("transport"):
        raise fail(f"the transport emulation is not supported here: {pf.reason('transport')}")
    try:
        study = run_study(StudyConfig.quick() if quick else StudyConfig(), edge=not no_edge and pf.supports("edge"))
    except (NetsliceError, ValueError) as e:
        raise fail(e) from e
    table = Table(title="simulator vs emulation: median relative error, held-out points")
    for column in ("part", "KPI", "before", "after: own-rate model", "after: shaper model", "run-to-run"):
        table.add_column(column, justify="right")
    for part in ("transport", "edge"):
        if part in study:
            noise = study[part]["run_to_run"] or {}
            for kpi, before, after, shaped in error_table(study, part):
                floor = f"{noise[kpi]:.1%}" if kpi in noise else "-"
                table.add_row(part, kpi, f"{before:.1%}", f"{after:.1%}", f"{shaped:.1%}", floor)
    console.print(table)
    for part in ("transport", "edge"):
        if part in study:
            console.print(f"{part}: fitted own-rate model {escape(str(study[part]['model_after']))}")
            console.print(f"{part}: fitted shaper model {escape(str(study[part]['model_shaped']))}")
    if out is not None:
        out.write_text(json.dumps(study, indent=2) + "\n")


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",")]
    except ValueError as e:
        raise NetsliceError(f"not a comma-separated list of numbers: {text!r}") from e
