"""The FastAPI application serving one orchestrator: ProvMnS NRM resources, agent API, metrics, health.

>>> from netslice.orchestration.orchestrator import Orchestrator
>>> from fastapi.testclient import TestClient
>>> app = create_app(Orchestrator.create("testbed-v0", seed=0, backend="numpy"), token="secret")
>>> TestClient(app).get("/healthz").json()["status"]
'ok'

Routes (details in :mod:`~netslice.orchestration.api.provmns` and :mod:`~netslice.orchestration.api.agent`):

* ``/ProvMnS/v1/SubNetwork=netslice/...``: NetworkSlice, RRMPolicyRatio, TransportSliceAllocation,
  ComputeAllocation, per-slice KPI records;
* ``/ai/v1/...``: spaces, observation, actions, episodes, slots;
* ``GET /metrics`` (Prometheus text format, see :mod:`~netslice.orchestration.api.metrics`),
  ``GET /healthz``, ``GET /docs`` (Swagger UI, served locally: :mod:`~netslice.orchestration.api.assets`)
  and ``GET /openapi.json``.

Errors follow :mod:`~netslice.orchestration.api.errors`; security follows
:mod:`~netslice.orchestration.api.context`. Every request first passes
:class:`~netslice.orchestration.api.limits.RequestGuard`: the token is checked before the body is
read, bodies over ``max_body_bytes`` are refused with 413, and the routes that touch the orchestrator
(synchronous, run in the thread pool) get ``worker_threads`` threads, further requests waiting in
arrival order; a ``threading.Lock`` guards every access to the orchestrator. ``/healthz`` is async and never
waits for orchestrator work. At start-up (the ASGI lifespan, before uvicorn binds its socket) the app
runs one slot on a throw-away copy of the orchestrator, so that the numba kernel is compiled (or
loaded from numba's cache) before the first request rather than during it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import APIRouter, FastAPI, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import BaseRoute

import netslice
from netslice.errors import ConfigError
from netslice.network.allocation import N_RESOURCES
from netslice.orchestration.api import agent, provmns
from netslice.orchestration.api.assets import install_docs
from netslice.orchestration.api.context import ApiContext
from netslice.orchestration.api.errors import install_error_handlers
from netslice.orchestration.api.limits import (
    DEFAULT_WORKER_THREADS,
    RequestGuard,
    check_positive,
    default_max_body_bytes,
)
from netslice.orchestration.api.methods import add_method_routes
from netslice.orchestration.api.metrics import ApiMetrics, MetricsMiddleware
from netslice.orchestration.nrm import AdministrativeState
from netslice.orchestration.orchestrator import Orchestrator

DESCRIPTION = """
REST API of one netslice orchestrator.

* **ProvMnS** (TS 28.532 style): `NetworkSlice`, `RRMPolicyRatio`, `TransportSliceAllocation`,
  `ComputeAllocation` and per-slice KPI records under `/ProvMnS/v1/SubNetwork=netslice`.
* **Agent API** `/ai/v1`: the in-process agent interface (`spaces`, `observation`, `step`, `reset`).
* Mutating requests need `Authorization: Bearer <token>`; GETs are open.
* Errors: `{"error": {"status", "type", "message"}}`.
"""


def warm_up(orchestrator: Orchestrator, lock: threading.Lock) -> None:
    """Run one slot on a deep copy of ``orchestrator`` (the original does not change).

    The first slot of a process compiles the fused numba kernel (seconds; numba's on-disk cache makes
    later starts faster) and imports what the slot path needs; doing it here keeps that out of the
    first request.
    """
    with lock:
        scratch = copy.deepcopy(orchestrator)
    scratch.step(None)


def create_app(
    orchestrator: Orchestrator,
    token: str,
    *,
    max_body_bytes: int | None = None,
    worker_threads: int = DEFAULT_WORKER_THREADS,
    warm: bool = True,
) -> FastAPI:
    """Build the app serving ``orchestrator``.

    Args:
        orchestrator: the orchestrator to serve; the app owns access to it from now on (other code
            touching it must hold ``app.state.context.lock``).
        token: bearer token required by every mutating request.
        max_body_bytes: largest request body accepted; larger ones get 413 ``PayloadTooLarge`` before
            they are read in full. Default: 1 MiB, or room for the largest action of this orchestrator
            (:func:`~netslice.orchestration.api.limits.default_max_body_bytes`).
        worker_threads: threads that run the synchronous (orchestrator) routes (default 1: requests
            served strictly in arrival order); further requests wait for one in arrival order (see
            :mod:`~netslice.orchestration.api.limits`).
        warm: run one slot on a throw-away copy of the orchestrator at start-up (the ASGI lifespan;
            see :func:`warm_up`).

    Returns:
        The FastAPI app (``app.state.context`` is its :class:`ApiContext`).

    Raises:
        ConfigError: the token is empty, or ``max_body_bytes`` or ``worker_threads`` is not a positive integer.
    """
    if not token:
        raise ConfigError("token: the API token must not be empty")
    if max_body_bytes is None:
        p = orchestrator.scenario.params
        max_body_bytes = default_max_body_bytes(orchestrator.n_envs, N_RESOURCES, p.n_slices)
    check_positive("max_body_bytes", max_body_bytes, "bytes")
    check_positive("worker_threads", worker_threads, "threads")
    lock = threading.Lock()
    backend = str(getattr(orchestrator.sim, "backend", "unknown"))
    ctx = ApiContext(
        orchestrator=orchestrator,
        lock=lock,
        token=token,
        metrics=ApiMetrics(orchestrator, lock, backend),
        admin_state=dict.fromkeys(orchestrator.records, AdministrativeState.UNLOCKED),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm:
            await anyio.to_thread.run_sync(warm_up, orchestrator, lock)
        yield

    app = FastAPI(
        title="netslice", version=netslice.__version__, description=DESCRIPTION, docs_url=None, lifespan=lifespan
    )
    app.state.context = ctx
    install_error_handlers(app)
    routers = [provmns.build_router(ctx), agent.build_router(ctx)]
    guarded: list[BaseRoute] = []  # filled once every route exists (below)
    app.add_middleware(
        RequestGuard,
        routes=lambda: guarded,
        authorize=ctx.authorize,
        check_token=ctx.check_token,
        max_body_bytes=max_body_bytes,
        worker_threads=worker_threads,
    )
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)  # outermost: counts what the guard refuses
    for router in routers:
        app.include_router(router)
    install_docs(app, "netslice")

    ops = APIRouter(tags=["ops"])

    @ops.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, object]:
        # async: answered in the event loop, never queued behind orchestrator work.
        return {"status": "ok", "scenario": orchestrator.scenario.name, "n_envs": orchestrator.n_envs}

    @ops.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    add_method_routes(ops)  # HEAD, OPTIONS and 405 with Allow, as on every other path
    app.include_router(ops)
    routers.append(ops)
    # The routes the guard matches requests against, flat (FastAPI may nest included routers).
    guarded.extend(
        [*(r for router in routers for r in router.routes), *(r for r in app.routes if isinstance(r, APIRoute))]
    )
    return app
