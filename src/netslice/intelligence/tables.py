"""The comparison table of ``netslice train`` / ``netslice evaluate``, sized to the console.

A terminal at least as wide as the full table gets it in one piece (usage per domain and violations
per slice as columns). Narrower terminals (80 columns) and output that is not a terminal get
two tables that fit in 80 columns:

1. per policy: mean usage, violation rate, gap to the oracle, gap to the forecast planner, reduction
   against the rule-based policy;
2. per metric (usage of each domain, violation rate of each slice), one column per policy; the
   policies are split over several tables when they do not fit side by side.

Numbers are never cut: the JSON (``evaluation.json``) holds every value in full.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from netslice.network.allocation import DOMAINS

Row = dict[str, float]
#: Width the compact tables are built for (a classic terminal).
COMPACT_WIDTH = 80


def _pct(value: float) -> str:
    return f"{value:.2%}"


def _gaps(row: Row) -> tuple[str, str, str]:
    return (
        f"{row['gap/oracle']:+.1%}" if "gap/oracle" in row else "-",
        f"{row['gap/forecast']:+.1%}" if "gap/forecast" in row else "-",
        f"{-row['reduction/rule']:+.1%}" if "reduction/rule" in row else "-",
    )


GAP_HEADERS = ("gap to oracle", "gap to forecast", "vs rule")


def wide_table(table: dict[str, Row], slices: tuple[str, ...], title: str) -> Table:
    """Every metric as a column, one row per policy."""
    t = Table(title=title)
    for col in ("policy", "usage", *DOMAINS, "violations", *(f"viol {s}" for s in slices), *GAP_HEADERS):
        t.add_column(col, justify="right")
    for name, row in table.items():
        t.add_row(
            name, f"{row['usage/mean']:.4f}", *(f"{row[f'usage/{d}']:.3f}" for d in DOMAINS),
            _pct(row["sla/violation_rate"]), *(_pct(row[f"sla/violation_rate/{s}"]) for s in slices), *_gaps(row),
        )  # fmt: skip
    return t


def summary_table(table: dict[str, Row], title: str) -> Table:
    """Per policy: usage, violations and the three gaps (compact table 1)."""
    t = Table(title=title)
    t.add_column("policy", justify="right", overflow="fold")  # a long name folds, the numbers keep their width
    for col in ("usage", "violations", *GAP_HEADERS):
        t.add_column(col, justify="right")
    for name, row in table.items():
        t.add_row(name, f"{row['usage/mean']:.4f}", _pct(row["sla/violation_rate"]), *_gaps(row))
    return t


def detail_table(table: dict[str, Row], slices: tuple[str, ...], policies: list[str], title: str) -> Table:
    """Per-domain usage and per-slice violation rate (rows) of ``policies`` (columns): compact table 2."""
    t = Table(title=title)
    t.add_column("metric")
    for name in policies:
        t.add_column(name, justify="right", overflow="fold")
    for d in DOMAINS:
        t.add_row(f"usage {d}", *(f"{table[p][f'usage/{d}']:.3f}" for p in policies))
    t.add_section()
    for s in slices:
        t.add_row(f"viol {s}", *(_pct(table[p][f"sla/violation_rate/{s}"]) for p in policies))
    return t


def fits(console: Console, table: Table, width: int) -> bool:
    """Whether ``table`` renders in ``width`` columns at its natural width (nothing wrapped or cut)."""
    return Measurement.get(console, console.options.update_width(10_000), table).maximum <= width


def _chunks(names: list[str], build: Callable[[list[str]], Table], console: Console, width: int) -> list[list[str]]:
    """Split ``names`` into consecutive groups whose table fits ``width`` (at least one name per group)."""
    groups: list[list[str]] = []
    for name in names:
        if groups and fits(console, build([*groups[-1], name]), width):
            groups[-1].append(name)
        else:
            groups.append([name])
    return groups


def render(table: dict[str, Row], slices: tuple[str, ...], console: Console, title: str) -> None:
    """Print the comparison: the wide table where it fits a terminal, else the compact tables (module docstring)."""
    wide = wide_table(table, slices, title)
    if console.is_terminal and fits(console, wide, console.width):
        console.print(wide)
        return
    width = min(console.width, COMPACT_WIDTH)
    console.print(summary_table(table, title), width=width)

    def build(names: list[str]) -> Table:
        return detail_table(table, slices, names, "usage per domain and violation rate per slice")

    for group in _chunks(list(table), build, console, width):
        console.print(build(group), width=width)
