"""Run the REST API with uvicorn (what ``netslice serve`` calls)."""

from __future__ import annotations

import secrets

import uvicorn

from netslice.orchestration.api.app import create_app
from netslice.orchestration.orchestrator import Orchestrator


def new_token() -> str:
    """A fresh random API token (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def serve(
    scenario: str,
    *,
    n_envs: int = 1,
    seed: int | None = 0,
    backend: str = "auto",
    host: str = "127.0.0.1",
    port: int = 8080,
    token: str,
    log_level: str = "info",
) -> None:
    """Build the orchestrator and its app, then serve it until interrupted.

    Args:
        scenario: scenario name or path to a YAML file.
        n_envs: networks simulated side by side.
        seed: random seed (``None``: from the OS).
        backend: simulator backend (``auto``, ``numpy``, ``fused``).
        host: interface to bind.
        port: TCP port.
        token: bearer token of mutating requests.
        log_level: uvicorn log level.

    Raises:
        NetsliceError: the scenario or an argument is invalid.
    """
    orchestrator = Orchestrator.create(scenario, n_envs=n_envs, seed=seed, backend=backend)
    uvicorn.run(create_app(orchestrator, token), host=host, port=port, log_level=log_level)
