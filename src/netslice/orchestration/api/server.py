"""Run the REST API with uvicorn (what ``netslice serve`` calls)."""

from __future__ import annotations

import gc
import secrets

import uvicorn

from netslice.orchestration.api.app import create_app
from netslice.orchestration.api.limits import DEFAULT_WORKER_THREADS
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
    access_log: bool = False,
    max_body_bytes: int | None = None,
    worker_threads: int = DEFAULT_WORKER_THREADS,
) -> None:
    """Build the orchestrator and its app, then serve it until interrupted.

    Start-up: before uvicorn binds ``host:port``, the app's lifespan runs one slot on a throw-away
    copy of the orchestrator (:func:`~netslice.orchestration.api.app.warm_up`), so the numba kernel
    of the fused backend is compiled (or loaded from numba's on-disk cache) before the first request;
    the first ``POST /ai/v1/actions`` is then as fast as later ones. The port therefore opens a few
    seconds later on a fresh install.

    Serving: one uvicorn process with its default event loop and HTTP parser (uvloop and httptools
    when they are installed). The routes that touch the orchestrator run on ``worker_threads``
    threads, further requests waiting in arrival order (:mod:`~netslice.orchestration.api.limits`);
    the access log is off by default (a log line per request costs about as much as a cheap GET).

    Args:
        scenario: scenario name or path to a YAML file.
        n_envs: networks simulated side by side.
        seed: random seed (``None``: from the OS).
        backend: simulator backend (``auto``, ``numpy``, ``fused``).
        host: interface to bind.
        port: TCP port.
        token: bearer token of mutating requests.
        log_level: uvicorn log level.
        access_log: log one line per request (uvicorn's access log, at level info).
        max_body_bytes: largest request body accepted; larger ones get 413 before they are read (default:
            1 MiB, or room for the largest action of ``n_envs`` networks).
        worker_threads: threads running the orchestrator routes (1: strict arrival order, the shortest
            tail; more: a few percent more requests per second, a longer tail).

    Raises:
        NetsliceError: the scenario or an argument is invalid.
    """
    orchestrator = Orchestrator.create(scenario, n_envs=n_envs, seed=seed, backend=backend)
    app = create_app(orchestrator, token, max_body_bytes=max_body_bytes, worker_threads=worker_threads)
    # The ~135k objects alive now (modules, scenario, orchestrator) live as long as the server: keep them
    # out of the garbage collector, whose full collections would otherwise scan them (50-75 ms pauses).
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log)
