"""The ``netslice`` command line (typer + rich).

``netslice simulate`` runs a scenario under a baseline allocation and prints per-slice KPIs,
SLA compliance and per-domain usage; ``netslice scenarios`` lists the registered scenarios;
``netslice serve`` serves an orchestrator over HTTP (see ``docs/rest-api.md``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import numpy as np
import typer
from numpy.typing import NDArray
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from netslice.cli_common import PROGRESS_OPTION, console, fail
from netslice.cli_emulate import app as emulate_app
from netslice.cli_learning import imitate, reproduce
from netslice.errors import NetsliceError
from netslice.intelligence.policies.forecast import DEFAULT_QUANTILE
from netslice.intelligence.progress import PLAIN_INTERVAL_S
from netslice.intelligence.run_config import (
    FIELDS,
    MINIMUM,
    PREFIXES,
    SUBCONFIG_OF,
    SUBCONFIGS,
    RunConfig,
    attribute_docs,
    write_json_atomic,
)
from netslice.network import scenarios
from netslice.network.allocation import DOMAINS, equal_split
from netslice.network.kernel import Kpis
from netslice.network.scenarios.sla import SlaTargets, describe, sla_cost
from netslice.network.simulator import Simulator

app = typer.Typer(help="netslice: DRL-based end-to-end network slicing.", no_args_is_help=True)

#: KPI columns of the simulate table: (Kpis field, header, format).
KPI_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("active_ues", "UEs", "{:.2f}"),
    ("thp_dl_kbps", "DL kbit/s", "{:,.0f}"),
    ("thp_ul_kbps", "UL kbit/s", "{:,.0f}"),
    ("latency_ms", "latency ms", "{:.1f}"),
    ("latency_tail_ms", "p95 ms", "{:.1f}"),
    ("reliability", "reliability", "{:.6f}"),
    ("fps", "fps", "{:.1f}"),
)

#: SLA terms as each slot is judged (see netslice.network.scenarios.sla): (SlaTargets field, label, format,
#: True where the SLA is an upper bound). Latency is the slot's mean or p95 tail, as the slice's SLA says.
JUDGED_TERMS: tuple[tuple[str, str, str, bool], ...] = (
    ("latency_ms", "latency", "{:.1f} ms", True),
    ("thp_dl_kbps", "DL", "{:,.0f} kbit/s", False),
    ("thp_ul_kbps", "UL", "{:,.0f} kbit/s", False),
    ("fps", "fps", "{:.1f}", False),
    ("reliability", "reliability", "{:.6f}", False),
)


def judged_kpis(targets: SlaTargets, kpis: Kpis) -> dict[str, NDArray[np.float64]]:
    """Per SLA term, the ``(n_envs, n_slices)`` KPI value each slot's SLA check compares with its bound."""
    out = {term: np.asarray(getattr(kpis, term), dtype=np.float64) for term, *_ in JUDGED_TERMS}
    out["latency_ms"] = np.where(targets.latency_tail, kpis.latency_tail_ms, kpis.latency_ms)
    return out


def judged_cell(targets: SlaTargets, judged: dict[str, NDArray[np.float64]], k: int) -> str:
    """Median and worst-5 % slot of each SLA term of slice ``k``, one line per term (order of :func:`describe`).

    ``judged`` maps each term to its ``(slots, n_slices)`` values (see :func:`judged_kpis`).
    """
    lines = []
    for term, _, fmt, upper in JUDGED_TERMS:
        if np.isnan(getattr(targets, term)[k]):
            continue
        values = judged[term][:, k]
        values = values[np.isfinite(values)]
        if values.size == 0:
            lines.append("-")
            continue
        worst = np.percentile(values, 95.0 if upper else 5.0)
        median, unit = fmt.format(np.median(values)), ""
        if " " in fmt:  # the unit once, after both values
            median, unit = median.split(" ")[0], " " + fmt.split(" ", 1)[1]
        lines.append(f"{median} / {fmt.format(worst).split(' ')[0]}{unit}")
    return "\n".join(lines)


@app.command("scenarios")
def list_scenarios() -> None:
    """List the registered scenarios with their first card line."""
    table = Table(title="Registered scenarios")
    table.add_column("name")
    table.add_column("slices")
    table.add_column("cells", justify="right")
    table.add_column("description")
    for name in scenarios.available():
        sc = scenarios.load(name)
        table.add_row(name, ", ".join(sc.params.slice_names), str(sc.params.n_cells),
                      sc.spec.description.strip().splitlines()[0])  # fmt: skip
    console.print(table)


@app.command()
def simulate(
    scenario: Annotated[str, typer.Option(help="Scenario name or path to a YAML file.")] = scenarios.DEFAULT_SCENARIO,
    steps: Annotated[int | None, typer.Option(min=1, help="Slots to simulate (default: --days days).")] = None,
    days: Annotated[int, typer.Option(min=1, help="Days to simulate when --steps is not given.")] = 1,
    n_envs: Annotated[int, typer.Option(min=1, help="Independent networks simulated in one batch.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    allocation: Annotated[
        str, typer.Option(help="Baseline allocation: 'initial' (the scenario's) or 'equal' (equal split).")
    ] = "initial",
    out: Annotated[Path | None, typer.Option(help="Write per-slot KPIs as JSON here.")] = None,
) -> None:
    """Simulate a scenario under a fixed baseline allocation and print per-slice KPIs.

    A scenario whose slices come and go (an arrivals section, e.g. metro-dynamic-v0) runs its request process
    through the orchestrator: a slice gets its share only while it is live, and its KPIs and SLA are judged over
    its live slots (column 'live').
    """
    try:
        sc = scenarios.load(scenario)
    except NetsliceError as err:
        raise fail(err) from None
    params = sc.params
    if allocation == "initial":
        alloc = np.broadcast_to(params.initial_allocation, (n_envs, *params.initial_allocation.shape))
    elif allocation == "equal":
        alloc = equal_split(n_envs, params.n_slices)
    else:
        console.print(f"[red]error:[/red] --allocation: must be 'initial' or 'equal', got {allocation!r}")
        raise typer.Exit(2)
    from netslice.orchestration.orchestrator import Orchestrator

    n_steps = steps if steps is not None else days * sc.spec.slots_per_episode
    dynamic = sc.spec.arrivals is not None
    # Slices that come and go: the orchestrator runs the request process (admission, departures) around the network.
    orch = Orchestrator.create(sc, n_envs=n_envs, seed=seed) if dynamic else None
    sim = None if dynamic else Simulator(params, n_envs=n_envs, seed=seed)
    live_slots = np.zeros(params.n_slices)
    targets = SlaTargets.from_spec(sc.spec)
    fields = [f for f, _, _ in KPI_COLUMNS]
    sums = {f: np.zeros(params.n_slices) for f in fields}
    violations = np.zeros(params.n_slices)
    usage = np.zeros(len(DOMAINS))
    trace: list[dict[str, object]] = []
    judged: dict[str, list[NDArray[np.float64]]] = {term: [] for term, *_ in JUDGED_TERMS}
    with Progress(TextColumn("[bold]simulate[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:  # fmt: skip
        task = progress.add_task(sc.name, total=n_steps)
        for t in range(n_steps):
            if orch is not None:
                live = orch.active.copy()  # the slices live during this slot (the process changes them after it)
                kpis = orch.step(alloc).kpis
            else:
                assert sim is not None
                live = np.ones(params.n_slices, dtype=bool)
                kpis = sim.step(alloc)
            cost = sla_cost(targets, kpis)
            live_slots += live
            for f in fields:
                sums[f] += np.where(live, getattr(kpis, f).mean(axis=0), 0.0)
            violations += np.where(live, (cost > 0).mean(axis=0), 0.0)
            for term, value in judged_kpis(targets, kpis).items():
                judged[term].append(np.where(live, value, np.nan))
            usage += kpis.usage.mean(axis=0)
            if out is not None:
                trace.append({"slot": t, "hour": float(kpis.hour[0]), "cost": cost[0].tolist(),
                              **({"live": live.tolist()} if dynamic else {}),
                              **{f: getattr(kpis, f)[0].tolist() for f in fields}})  # fmt: skip
            progress.advance(task)

    table = Table(title=f"{sc.name}: {n_steps} slots x {n_envs} env(s), allocation '{allocation}' (means)")
    table.add_column("slice")
    for _, header, _ in KPI_COLUMNS:
        table.add_column(header, justify="right")
    table.add_column("SLA (judged each slot)")
    table.add_column("slots: median / worst 5%", justify="right")
    table.add_column("SLA met", justify="right")
    if dynamic:
        table.add_column("live", justify="right")
    slots = {term: np.concatenate(values) for term, values in judged.items()}  # (n_steps * n_envs, n_slices)
    for k, name in enumerate(params.slice_names):
        n_live = live_slots[k]
        if n_live == 0:  # never live: nothing to report
            cells = ["-"] * len(KPI_COLUMNS)
            met_cell = "-"
        else:
            cells = [fmt.format(sums[f][k] / n_live) for f, _, fmt in KPI_COLUMNS]
            met = 1.0 - violations[k] / n_live
            met_cell = f"[{'green' if met >= 0.99 else 'red'}]{met:.1%}"
        extra = [f"{n_live / n_steps:.0%}"] if dynamic else []
        table.add_row(name, *cells, describe(sc.spec, k).replace(", ", "\n"), judged_cell(targets, slots, k),
                      met_cell, *extra)  # fmt: skip
    console.print(table)
    console.print("usage (allocated share of each domain): " + ", ".join(
        f"{d} {u / n_steps:.1%}" for d, u in zip(DOMAINS, usage, strict=True)))  # fmt: skip
    if out is not None:
        write_json_atomic(out, {"scenario": sc.name, "seed": seed, "allocation": allocation,
                                "slices": list(params.slice_names), "slots": trace})  # fmt: skip
        console.print(f"per-slot KPIs written to {out}")


@app.command()
def serve(
    scenario: Annotated[str, typer.Option(help="Scenario name or path to a YAML file.")] = scenarios.DEFAULT_SCENARIO,
    n_envs: Annotated[int, typer.Option(min=1, help="Independent networks simulated in one batch.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed (negative: drawn from the OS).")] = 0,
    backend: Annotated[
        str,
        typer.Option(
            help="Network backend: auto, numpy or fused (simulator), or emulated (one network; transport and edge "
            "on a real Linux data plane, needs root and the emulation extra)."
        ),
    ] = "auto",
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8080,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="NETSLICE_API_TOKEN",
            show_envvar=True,
            help="Bearer token of mutating requests (default: $NETSLICE_API_TOKEN, else a random one, printed once).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log one line per request (uvicorn's access log).")] = False,
    max_body_bytes: Annotated[
        int | None,
        typer.Option(min=1, help="Largest request body (413 above it; default 1 MiB or the largest action's size)."),
    ] = None,
    worker_threads: Annotated[
        int, typer.Option(min=1, help="Threads running orchestrator requests (1: strict arrival order).")
    ] = 1,
) -> None:
    """Serve the orchestrator over HTTP: ProvMnS NRM resources, agent API /ai/v1, /metrics, /docs.

    The simulator kernel is compiled (or loaded from numba's cache) before the port opens, so the first
    request is as fast as later ones.
    """
    try:
        from netslice.orchestration.api.server import new_token
        from netslice.orchestration.api.server import serve as run_server
    except ImportError as err:
        console.print(f"[red]error:[/red] the REST API needs the api extra (pip install 'netslice\\[api]'): {err}")
        raise typer.Exit(2) from None
    if not token:
        token = new_token()
        console.print(f"API token (generated, shown once): {token}", soft_wrap=True, highlight=False)
    try:
        run_server(scenario, n_envs=n_envs, seed=None if seed < 0 else seed, backend=backend,
                   host=host, port=port, token=token, log_level=log_level, access_log=access_log,
                   max_body_bytes=max_body_bytes, worker_threads=worker_threads)  # fmt: skip
    except NetsliceError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None


#: Option names of config fields other than ``--field-name`` (kept from before the options were derived).
OPTION_NAMES: dict[str, tuple[str, ...]] = {"total_steps": ("--steps",), "method": ("--safety",)}
#: Help panels of the derived options: run fields, then one per sub-configuration.
RUN_PANEL = "Run (RunConfig)"
PANELS = {
    "ppo": "PPO (PPOConfig)", "safety": "Safety (SafetyConfig)", "shield": "Shield (ShieldConfig)",
    "warm": "Warm start (WarmStartConfig)",
}  # fmt: skip


def help_text(doc: str) -> str:
    """A docstring's field description as option help: capitalised, without reST markup (``x``, :role:`~a.b`)."""
    text = re.sub(r":\w+:`~?(?:[\w.]*\.)?(\w+)`", r"\1", doc).replace("``", "")
    return escape(text[:1].upper() + text[1:])


def config_parameters(defaults: RunConfig) -> list[inspect.Parameter]:
    """One typer option per config field (:data:`~netslice.intelligence.run_config.FIELDS`), default from ``defaults``.

    The help text is the field's line in the ``Attributes:`` section of its class; a tuple field is a repeatable
    option (``--hidden 64 --hidden 64``), a bool one a ``--name/--no-name`` flag.
    """
    docs = attribute_docs(RunConfig) | {
        f"{PREFIXES[name]}{key}": text for name, cls in SUBCONFIGS.items() for key, text in attribute_docs(cls).items()
    }  # fmt: skip
    params = []
    for name, kind in FIELDS.items():
        default = defaults.value(name)
        panel = PANELS.get(SUBCONFIG_OF.get(name, ""), RUN_PANEL)
        if get_origin(kind) is tuple:
            kind, default = list[get_args(kind)[0]], list(default)  # type: ignore[misc]
        option = typer.Option(
            *OPTION_NAMES.get(name, ()), help=help_text(docs[name]), min=MINIMUM.get(name),
            rich_help_panel=panel,
        )  # fmt: skip
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=Annotated[kind, option]))  # fmt: skip
    return params


def make_train_command(defaults: RunConfig) -> Callable[..., None]:
    """The ``train`` command with one option per config field (:func:`config_parameters`) besides its own."""

    def train(
        ctx: typer.Context,
        config: Annotated[
            Path | None,
            typer.Option(help="Start from this run_config.json (or a run folder's); options given here override it."),
        ] = None,
        run_dir: Annotated[Path | None, typer.Option(help="Output folder (default runs/SCENARIO-ALGO-sSEED).")] = None,
        resume: Annotated[
            bool, typer.Option(help="Continue from run_dir/checkpoint.pt when present (it must have this config).")
        ] = True,
        print_config: Annotated[
            bool, typer.Option("--print-config", help="Print the run config (JSON, as run_config.json) and exit.")
        ] = False,
        progress_every: Annotated[float, PROGRESS_OPTION] = PLAIN_INTERVAL_S,
        ray_address: Annotated[
            str | None,
            typer.Option(help="With --workers: join the Ray cluster at this address (default: start a local Ray)."),
        ] = None,
        **options: Any,
    ) -> None:
        """Train an agent, then compare it with every baseline on fresh networks.

        Baselines: static (equal split), rule (rule-based), forecast (causal planner), oracle (clairvoyant).

        Writes RUN_DIR/evaluation.json, run_config.json, TensorBoard logs (RUN_DIR/tb), figures. Progress: a bar on a
        terminal, else lines. Precedence: options given here, then --config, then the defaults shown. --workers N
        rolls out on N Ray actors (the ray extra).
        """
        from netslice.intelligence.run import train as run_train

        given = {k: v for k, v in options.items() if getattr(ctx.get_parameter_source(k), "name", "") == "COMMANDLINE"}
        try:
            base = RunConfig.load(config) if config is not None else defaults
            cfg = base.overridden(given, "command line")
        except NetsliceError as err:
            raise fail(err) from None
        if print_config:
            console.print_json(data=cfg.record())
            return
        out = run_dir or Path("runs") / f"{Path(cfg.scenario).stem}-{cfg.algo}-s{cfg.ppo.seed}"
        try:
            run_train(cfg, out, resume, console, progress_every, ray_address=ray_address)
        except NetsliceError as err:
            raise fail(err) from None

    own = [p for p in inspect.signature(train, eval_str=True).parameters.values() if p.kind is not p.VAR_KEYWORD]
    params = [*own, *config_parameters(defaults)]
    train.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    train.__annotations__ = {p.name: p.annotation for p in params}
    return train


app.command("train")(make_train_command(RunConfig()))


@app.command()
def evaluate(
    policy: Annotated[
        list[str],
        typer.Option(
            help="Repeatable. One of: static (equal split), initial (the scenario's allocation), rule, "
            f"forecast (planner for the {DEFAULT_QUANTILE:g} traffic quantile), "
            "forecast:Q (quantile Q in (0, 1), e.g. forecast:0.9), forecast:Q:known-channel (the planner "
            "reading the coming slot's shadowing, clairvoyant on the channel; forecast::known-channel for the "
            "default Q), "
            "oracle, oracle:split or oracle:split-equal (the oracle held to the per-domain agents' fixed split of "
            "every SLA, at the design point or a quarter per domain), a PPO run folder or checkpoint.pt written by "
            "'netslice train', per-slice:RUN (a run "
            "trained with --agents per-slice, its slice agent on every slice), per-domain:RUN (a run trained "
            "with --agents per-domain, its three group agents), or switching:RUN (a run trained with "
            "--switching, centralised or per-slice: its agent behind the shield it trained with, frozen)."
        ),
    ],
    scenario: Annotated[str, typer.Option(help="Scenario name or YAML path.")] = "testbed-v0",
    days: Annotated[int, typer.Option(min=1, help="Days to evaluate.")] = 5,
    n_envs: Annotated[int, typer.Option(min=1, help="Networks simulated side by side.")] = 16,
    seed: Annotated[int, typer.Option(help="Seed of the evaluation envs.")] = 1000,
    out: Annotated[Path, typer.Option(help="Folder for evaluation.json and figures.")] = Path("runs/evaluate"),
    progress_every: Annotated[float, PROGRESS_OPTION] = PLAIN_INTERVAL_S,
) -> None:
    """Evaluate policies side by side: usage per domain, SLA violations, gap to the oracle, figures."""
    from netslice.intelligence.run import evaluate_all, make_policy, policy_label, report

    try:
        sc = scenarios.load(scenario)
        policies = {policy_label(p): make_policy(p, sc) for p in policy}
        results = evaluate_all(policies, sc, days, n_envs, seed, console, progress_every)
        report(results, out, console, None, days=days, n_envs=n_envs, seed=seed)
    except NetsliceError as err:
        raise fail(err) from None


app.command()(imitate)
app.command()(reproduce)
app.add_typer(emulate_app, name="emulate")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
