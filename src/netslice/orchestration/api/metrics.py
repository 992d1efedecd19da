"""Prometheus metrics of the REST API (``GET /metrics``), in a registry private to each app.

Metric names (documented once, here):

==========================================================  =====================================================
``netslice_<namespace>_<name>[{slice="<slice>"}]``          gauge: every entry of ``Orchestrator.metrics()``;
                                                            ``sla/violation_rate/mar`` becomes
                                                            ``netslice_sla_violation_rate{slice="mar"}``,
                                                            ``sla/violation_rate`` the same name without label,
                                                            ``orchestrator/slots`` ``netslice_orchestrator_slots``
``netslice_domain_faults_total{domain, kind}``              counter: faults of slots and NRM writes via the API
``netslice_http_requests_total{method, route, status}``     counter: requests per route template
``netslice_http_request_duration_seconds{method, route}``   histogram: request latency per route template
``netslice_api_info{scenario, backend, n_envs}``            gauge (always 1): what the server runs
==========================================================  =====================================================

Every label value comes from a bounded set, whatever clients send: ``method`` is one of
:data:`METHODS` or ``other``; ``route`` is a route template (``/NetworkSlice={slice_id}``) or
``unmatched``; ``status`` is the status code the server answered (``499``: the client went away
before an answer).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netslice.network.allocation import DOMAINS
from netslice.orchestration.enforcement import DomainFault
from netslice.orchestration.orchestrator import Orchestrator

#: Help texts of known orchestrator metrics (by name without the slice part).
HELP = {
    "sla/violation_rate": "fraction of (env, slot) pairs in which the slice (or, without label, any slice) violated",
    "sla/cost_mean": "mean SLA cost of the slice over (env, slot) pairs",
    "sla/slots": "(env, slot) pairs evaluated",
    "orchestrator/slots": "slots run since the last full reset",
    "orchestrator/active_slices": "provisioned slices",
}
_INVALID = re.compile(r"[^a-zA-Z0-9_]")
#: HTTP methods counted under their own name (RFC 9110 section 9 and PATCH); others count as ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})


def method_label(method: str) -> str:
    """The ``method`` label of a request: the method if it is a standard one, else ``other``.

    >>> method_label("PATCH"), method_label("FOO1")
    ('PATCH', 'other')
    """
    return method if method in METHODS else "other"


def metric_name(key: str, slices: Iterable[str]) -> tuple[str, str, dict[str, str]]:
    """Prometheus name, help key and labels of an orchestrator metric key.

    A last path part that is a slice name becomes the ``slice`` label.

    >>> metric_name("sla/violation_rate/mar", ["mar"])
    ('netslice_sla_violation_rate', 'sla/violation_rate', {'slice': 'mar'})
    >>> metric_name("orchestrator/slots", ["mar"])
    ('netslice_orchestrator_slots', 'orchestrator/slots', {})
    """
    parts = key.split("/")
    labels: dict[str, str] = {}
    if len(parts) > 1 and parts[-1] in set(slices):
        labels["slice"] = parts.pop()
    base = "/".join(parts)
    return "netslice_" + _INVALID.sub("_", "_".join(parts)), base, labels


class OrchestratorCollector(Collector):
    """Reads ``Orchestrator.metrics()`` (under the API lock) at every scrape and yields gauges."""

    def __init__(self, orchestrator: Orchestrator, lock: threading.Lock) -> None:
        self.orchestrator = orchestrator
        self.lock = lock

    def collect(self) -> Iterable[Metric]:
        """One gauge family per metric name, with a sample per slice label (see the module table)."""
        with self.lock:
            values = self.orchestrator.metrics()
            slices = self.orchestrator.scenario.params.slice_names
        families: dict[str, Metric] = {}
        for key, value in values.items():
            name, base, labels = metric_name(key, slices)
            if name not in families:
                families[name] = Metric(name, HELP.get(base, f"orchestrator metric {base}"), "gauge")
            families[name].add_sample(name, labels, float(value))
        yield from families.values()


class ApiMetrics:
    """The app's registry: orchestrator gauges, domain fault counters, request counters and latencies.

    Args:
        orchestrator: the served orchestrator.
        lock: the lock that serialises access to it.
        backend: simulator backend label of ``netslice_api_info``.
    """

    def __init__(self, orchestrator: Orchestrator, lock: threading.Lock, backend: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "netslice_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "netslice_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.faults = Counter(
            "netslice_domain_faults", "domain faults of slots and NRM writes through the API", ["domain", "kind"],
            registry=self.registry,
        )  # fmt: skip
        for domain in DOMAINS:
            for kind in ("error", "timeout"):
                self.faults.labels(domain=domain, kind=kind)
        info = Gauge(
            "netslice_api_info", "what the server runs", ["scenario", "backend", "n_envs"], registry=self.registry
        )
        info.labels(scenario=orchestrator.scenario.name, backend=backend, n_envs=str(orchestrator.n_envs)).set(1)
        self.registry.register(OrchestratorCollector(orchestrator, lock))

    def count_faults(self, faults: Iterable[DomainFault]) -> None:
        """Add a slot's domain faults to ``netslice_domain_faults_total``."""
        for fault in faults:
            self.faults.labels(domain=fault.domain, kind=fault.kind).inc()


class MetricsMiddleware:
    """ASGI middleware counting requests and timing them per route template (``/ai/v1/actions``).

    Requests that match no route are counted under ``route="unmatched"``, non-standard methods under
    ``method="other"`` (see :func:`method_label`), so that clients cannot add series.
    """

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and record its status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 499  # no answer started: the client went away (an app error answers 500)
        start = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route: Any = scope.get("route")
            path = str(getattr(route, "path", "unmatched"))
            method = method_label(str(scope.get("method", "")))
            self.metrics.requests.labels(method=method, route=path, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=path).observe(time.perf_counter() - start)
