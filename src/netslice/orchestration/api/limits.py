"""What every request goes through before it reaches a route: auth, body size, a FIFO queue for orchestrator work.

:class:`RequestGuard` is a pure ASGI middleware. For each HTTP request it

1. finds the route (as the router will) and, when the route needs a token, checks the ``Authorization``
   header **before any byte of the body is read** (401/403 as
   :meth:`~netslice.orchestration.api.context.ApiContext.check_token`): a client without a token cannot
   make the server read a large body;
2. answers 413 ``PayloadTooLarge`` when ``Content-Length`` exceeds ``max_body_bytes``, without reading
   the body, and otherwise reads the body, counting the bytes of a streamed (chunked) body and
   answering 413 as soon as the count exceeds the limit (the rest is never read; the connection is
   closed);
3. caps the threads that run synchronous routes (every route that touches the orchestrator; FastAPI
   runs them in anyio's thread pool, 40 threads by default) at ``worker_threads`` (1 by default), by
   setting the event loop's default thread limiter once, at its first request. Requests beyond the cap
   wait in the limiter, which admits them in arrival order. Orchestrator work is serialised by the API
   lock anyway; with up to 40 threads blocked on that lock (which is not fair) and fighting for the
   GIL, some requests starved and tail latency grew much faster than the queue (issue 9, item 5).
   With one thread, requests are served strictly in arrival order and p99 stays within about twice
   a fair share of the queue; more threads keep the next request ready when the lock frees (5-10%
   more requests per second on two cores) at the price of a longer tail
   (``benchmarks/rest_roundtrip.py``). Async routes (``/healthz``, ``/docs``, ``/openapi.json``)
   and the event loop itself never wait for these threads.

The body of every request is read completely by the guard before the app sees it (at most
``max_body_bytes`` per request), so that a slow upload never holds a worker thread.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import anyio.to_thread
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netslice.errors import ConfigError
from netslice.orchestration.api.errors import ApiError, error_response

#: Smallest default largest request body (1 MiB): far more than any NRM document needs.
DEFAULT_MAX_BODY_BYTES = 1 << 20
#: JSON bytes budgeted per action entry by :func:`default_max_body_bytes` (a full-precision float, a comma,
#: a space and brackets take at most about 26).
ACTION_ENTRY_BYTES = 40
#: Default number of threads running synchronous routes (see the module docstring).
DEFAULT_WORKER_THREADS = 1


def default_max_body_bytes(n_envs: int, n_resources: int, n_slices: int) -> int:
    """The default body limit of a server: 1 MiB, or room for its largest action if that is larger.

    An action is ``(n_envs, n_resources, n_slices)`` numbers, so a server batching many networks needs
    more than 1 MiB for a legitimate request (1024 networks of ``city-v0``: about 2.9 MB).

    >>> default_max_body_bytes(1, 7, 3)
    1048576
    >>> default_max_body_bytes(1024, 7, 10)
    2932736
    """
    return max(DEFAULT_MAX_BODY_BYTES, ACTION_ENTRY_BYTES * n_envs * n_resources * n_slices + (1 << 16))


def check_positive(name: str, value: object, unit: str) -> None:
    """Check that a setting is a positive integer.

    Raises:
        ConfigError: it is not (the message names the setting).
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: must be a positive integer ({unit}), got {value!r}")


def _too_large(max_body_bytes: int, detail: str) -> ApiError:
    return ApiError(
        413, "PayloadTooLarge", f"body: must be at most {max_body_bytes} bytes (max_body_bytes), {detail}",
        headers={"Connection": "close"},
    )  # fmt: skip


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _header(scope: Scope, key: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == key:
            return bytes(value).decode("latin-1")
    return None


def needs_token(route: BaseRoute, authorize: Callable[..., Any]) -> bool:
    """Whether ``route`` has ``authorize`` among its dependencies (the routes of mutating requests)."""
    dependant = getattr(route, "dependant", None)
    deps = getattr(dependant, "dependencies", ())
    return any(getattr(d, "call", None) == authorize for d in deps)


class RequestGuard:
    """ASGI middleware: auth before the body, a body size limit, a bounded worker pool (see the module docstring).

    Args:
        app: the app to guard.
        routes: the app's routes, flat (no nested routers; called at each request).
        authorize: the auth dependency; routes that depend on it need a token.
        check_token: checks an ``Authorization`` header value, raising
            :class:`~netslice.orchestration.api.errors.ApiError` (401/403).
        max_body_bytes: largest accepted request body, in bytes.
        worker_threads: threads running synchronous routes, per event loop.

    Raises:
        ConfigError: ``max_body_bytes`` or ``worker_threads`` is not a positive integer.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Callable[[], Sequence[BaseRoute]],
        authorize: Callable[..., Any],
        check_token: Callable[[str | None], None],
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        worker_threads: int = DEFAULT_WORKER_THREADS,
    ) -> None:
        check_positive("max_body_bytes", max_body_bytes, "bytes")
        check_positive("worker_threads", worker_threads, "threads")
        self.app = app
        self.routes = routes
        self.authorize = authorize
        self.check_token = check_token
        self.max_body_bytes = max_body_bytes
        self.worker_threads = worker_threads
        # The event loops whose thread limiter is set (a TestClient may run requests in loops of their own).
        self._loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()

    def _route(self, scope: Scope) -> BaseRoute | None:
        for route in self.routes():
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
        return None

    def _bound_threads(self) -> None:
        """Cap this event loop's thread pool at ``worker_threads`` (once per loop)."""
        loop = asyncio.get_running_loop()
        if loop not in self._loops:
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.worker_threads
            self._loops.add(loop)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body; ``None`` when the client went away first.

        Raises:
            ApiError: 413 once more than ``max_body_bytes`` arrived (nothing more is read).
        """
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _too_large(self.max_body_bytes, "got more than that (streamed)")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check and read one request, then pass it on (see the module docstring)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._bound_threads()
        route = self._route(scope)
        if route is not None:
            scope["route"] = route  # for the metrics of requests answered here; the router sets it again
        try:
            if route is not None and needs_token(route, self.authorize):
                self.check_token(_header(scope, b"authorization"))
            length = _content_length(scope)
            if length is not None and length > self.max_body_bytes:
                raise _too_large(self.max_body_bytes, f"Content-Length is {length}")
            body = await self._read_body(scope, receive)
        except ApiError as err:
            await error_response(err.status, err.type, err.message, err.headers)(scope, receive, send)
            return
        if body is None:
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # http.disconnect once the client goes away
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
