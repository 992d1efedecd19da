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
  ``GET /healthz``, ``GET /docs`` (OpenAPI UI) and ``GET /openapi.json``.

Errors follow :mod:`~netslice.orchestration.api.errors`; security follows
:mod:`~netslice.orchestration.api.context`. Routes are synchronous and run in a thread pool, and a
``threading.Lock`` serialises every access to the orchestrator.
"""

from __future__ import annotations

import threading

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import netslice
from netslice.errors import ConfigError
from netslice.orchestration.api import agent, provmns
from netslice.orchestration.api.context import ApiContext
from netslice.orchestration.api.errors import install_error_handlers
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


def create_app(orchestrator: Orchestrator, token: str) -> FastAPI:
    """Build the app serving ``orchestrator``.

    Args:
        orchestrator: the orchestrator to serve; the app owns access to it from now on (other code
            touching it must hold ``app.state.context.lock``).
        token: bearer token required by every mutating request.

    Returns:
        The FastAPI app (``app.state.context`` is its :class:`ApiContext`).

    Raises:
        ConfigError: the token is empty.
    """
    if not token:
        raise ConfigError("token: the API token must not be empty")
    lock = threading.Lock()
    backend = str(getattr(orchestrator.sim, "backend", "unknown"))
    ctx = ApiContext(
        orchestrator=orchestrator,
        lock=lock,
        token=token,
        metrics=ApiMetrics(orchestrator, lock, backend),
        admin_state=dict.fromkeys(orchestrator.records, AdministrativeState.UNLOCKED),
    )
    app = FastAPI(title="netslice", version=netslice.__version__, description=DESCRIPTION, docs_url="/docs")
    app.state.context = ctx
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)
    app.include_router(provmns.build_router(ctx))
    app.include_router(agent.build_router(ctx))

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    def healthz() -> dict[str, object]:
        return {"status": "ok", "scenario": orchestrator.scenario.name, "n_envs": orchestrator.n_envs}

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
