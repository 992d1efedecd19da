"""``netslice emulate``: the emulated data plane's commands (``check``, ``clean``, ``transport``).

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


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",")]
    except ValueError as e:
        raise NetsliceError(f"not a comma-separated list of numbers: {text!r}") from e
