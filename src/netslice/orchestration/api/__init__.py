"""REST API of the orchestrator (needs the ``api`` extra: ``pip install 'netslice[api]'``).

* :func:`~netslice.orchestration.api.app.create_app` builds the FastAPI app serving one
  :class:`~netslice.orchestration.orchestrator.Orchestrator`: ProvMnS-style NRM resources, the agent API
  ``/ai/v1``, Prometheus ``/metrics`` and ``/healthz``;
* :class:`~netslice.orchestration.api.client.OrchestratorClient` offers the orchestrator's agent interface
  over HTTP, so that an agent runs unchanged in-process or remote;
* :func:`~netslice.orchestration.api.server.serve` runs it with uvicorn (``netslice serve``).

Route table, error and auth rules: ``docs/rest-api.md``.
"""

from netslice.orchestration.api.app import create_app
from netslice.orchestration.api.client import OrchestratorClient

__all__ = ["OrchestratorClient", "create_app"]
