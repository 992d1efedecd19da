"""SLA decomposition: the default proportional split, and the hook the orchestrator calls."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netslice.network.allocation import DOMAINS
from netslice.network.kernel import Kpis
from netslice.orchestration.decomposition import LATENCY_FIELD, Budgets, proportional
from netslice.orchestration.orchestrator import Orchestrator


def _kpis(ran: list[float], tn: list[float], cn: list[float], edge: list[float]) -> Any:
    """One-env KPIs carrying only the per-domain latency parts, one column per slice."""
    return SimpleNamespace(ran_ms=np.array([ran]), tn_ms=np.array([tn]), cn_ms=np.array([cn]), edge_ms=np.array([edge]))


def test_latency_fields_name_every_domain() -> None:
    assert tuple(LATENCY_FIELD) == DOMAINS
    assert set(LATENCY_FIELD.values()) <= set(Kpis.__dataclass_fields__)


def test_latency_is_split_in_proportion_to_the_measured_parts() -> None:
    kpis = _kpis([20.0], [10.0], [0.0], [70.0])
    budgets = proportional({"latency_ms": 300.0}, kpis, 0, 100.0)
    assert budgets == {"latency_ms": {"ran": 40.0, "tn": 20.0, "cn": 0.0, "edge": 140.0}}


def test_latency_split_reads_the_slice_column() -> None:
    kpis = _kpis([1.0, 5.0], [1.0, 5.0], [1.0, 0.0], [1.0, 10.0])  # slice 1: ran 5, tn 5, cn 0, edge 10
    budgets = proportional({"latency_ms": 50.0}, kpis, 1, 10.0)  # network budget 40
    assert budgets["latency_ms"] == {"ran": 10.0, "tn": 10.0, "cn": 0.0, "edge": 20.0}
    assert list(budgets["latency_ms"]) == list(DOMAINS)


def test_zero_latency_parts_fall_back_to_an_equal_split() -> None:
    kpis = _kpis([0.0], [0.0], [0.0], [0.0])
    budgets = proportional({"latency_ms": 100.0}, kpis, 0, 20.0)
    assert budgets["latency_ms"] == {"ran": 20.0, "tn": 20.0, "cn": 20.0, "edge": 20.0}


def test_a_latency_below_the_application_latency_leaves_no_network_budget() -> None:
    kpis = _kpis([1.0], [2.0], [3.0], [4.0])
    budgets = proportional({"latency_ms": 50.0}, kpis, 0, 94.0)
    assert budgets["latency_ms"] == dict.fromkeys(DOMAINS, 0.0)


def test_throughput_is_copied_to_every_domain() -> None:
    kpis = _kpis([1.0], [1.0], [1.0], [1.0])
    budgets = proportional({"thp_dl_kbps": 5000.0, "thp_ul_kbps": 250.0}, kpis, 0, 0.0)
    assert budgets == {
        "thp_dl_kbps": {"ran": 5000.0, "tn": 5000.0, "cn": 5000.0, "edge": 5000.0},
        "thp_ul_kbps": {"ran": 250.0, "tn": 250.0, "cn": 250.0, "edge": 250.0},
    }


@pytest.mark.parametrize("reliability", [0.9, 0.999, 0.9999, 0.99999, 1.0])
def test_reliability_is_split_equally_in_the_log_domain(reliability: float) -> None:
    budgets = proportional({"reliability": reliability}, _kpis([1.0], [1.0], [1.0], [1.0]), 0, 0.0)
    per_domain = budgets["reliability"]
    assert list(per_domain) == list(DOMAINS)
    assert len(set(per_domain.values())) == 1
    r = per_domain["ran"]
    assert r == pytest.approx(reliability**0.25, rel=1e-15)
    assert math.prod(per_domain.values()) == pytest.approx(reliability, rel=1e-14)
    assert reliability <= r <= 1.0


def test_absent_terms_get_no_budget() -> None:
    kpis = _kpis([1.0], [1.0], [1.0], [1.0])
    assert proportional({}, kpis, 0, 0.0) == {}
    none_terms: dict[str, float | None] = dict.fromkeys(("latency_ms", "thp_dl_kbps", "thp_ul_kbps", "reliability"))
    assert proportional(none_terms, kpis, 0, 0.0) == {}


def test_every_term_together() -> None:
    kpis = _kpis([10.0], [10.0], [10.0], [10.0])
    budgets = proportional(
        {"latency_ms": 40.0, "thp_dl_kbps": 1.0, "thp_ul_kbps": None, "reliability": 0.9999}, kpis, 0, 0.0
    )
    assert set(budgets) == {"latency_ms", "thp_dl_kbps", "reliability"}
    assert budgets["latency_ms"] == dict.fromkeys(DOMAINS, 10.0)


@settings(max_examples=60, deadline=None, database=None)
@given(
    parts=st.lists(st.floats(0.0, 1e4), min_size=4, max_size=4),
    latency=st.floats(1e-3, 1e5),
    app=st.floats(0.0, 1e3),
)
def test_latency_budgets_sum_to_the_network_part(parts: list[float], latency: float, app: float) -> None:
    kpis = _kpis(*([p] for p in parts))
    split = proportional({"latency_ms": latency}, kpis, 0, app)["latency_ms"]
    assert all(v >= 0.0 for v in split.values())
    assert sum(split.values()) == pytest.approx(max(latency - app, 0.0), rel=1e-12, abs=1e-9)
    if sum(parts) > 0.0:  # a domain with no measured latency gets no budget
        assert all(split[d] == 0.0 for d, p in zip(DOMAINS, parts, strict=True) if p == 0.0)


def test_the_orchestrator_calls_the_hook_with_the_admitted_terms() -> None:
    calls: list[tuple[dict[str, float | None], int, float, tuple[int, ...]]] = []

    def hook(terms: dict[str, float | None], kpis: Kpis, k: int, app_latency_ms: float) -> Budgets:
        calls.append((dict(terms), k, app_latency_ms, kpis.latency_ms.shape))
        return {"marker": {"k": float(k)}}

    orch = Orchestrator.create("testbed-v0", n_envs=1, seed=0, backend="numpy", decomposition=hook)
    assert [c[1] for c in calls] == [0, 1, 2]
    assert calls[0][0]["latency_ms"] == 500.0  # mar: latency <= 500 ms
    assert calls[0][2] == pytest.approx(94.0)  # mar's application latency
    assert calls[2][0]["reliability"] == pytest.approx(0.9999)  # iot
    assert {c[3] for c in calls} == {(1, 3)}  # one-env KPIs of the reserved allocation
    assert {sid: r.budgets for sid, r in orch.records.items()} == {
        "mar": {"marker": {"k": 0.0}},
        "video": {"marker": {"k": 1.0}},
        "iot": {"marker": {"k": 2.0}},
    }
