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
3. hands requests whose route is synchronous (every route that touches the orchestrator: they run
   in the thread pool) to the app one at a time, in arrival order, once their body is complete.
   Orchestrator work is serialised by the API lock anyway; queueing it here, in the event loop,
   keeps at most one worker thread busy instead of up to 40 threads racing for the lock (which is
   not fair) and the GIL, so throughput holds and latency grows with the queue length, not faster.
   A slow upload never holds the queue. Async routes (``/healthz``, ``/docs``, ``/openapi.json``)
   and unmatched paths are not queued.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netslice.errors import ConfigError
from netslice.orchestration.api.errors import ApiError, error_response

#: Default largest request body (1 MiB). The largest legitimate bodies (an action for many envs, a
#: NetworkSlice) are far smaller: an action of 64 envs x 6 resources x 16 slices is about 120 kB.
DEFAULT_MAX_BODY_BYTES = 1 << 20


def check_max_body_bytes(max_body_bytes: object) -> None:
    """Check the ``max_body_bytes`` setting.

    Raises:
        ConfigError: it is not a positive integer.
    """
    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ConfigError(f"max_body_bytes: must be a positive integer (bytes), got {max_body_bytes!r}")


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


def is_sync(route: BaseRoute) -> bool:
    """Whether ``route``'s endpoint is a plain function (run in the thread pool: orchestrator work)."""
    endpoint = getattr(route, "endpoint", None)
    return endpoint is not None and not inspect.iscoroutinefunction(endpoint)


class RequestGuard:
    """ASGI middleware: auth before the body, a body size limit, and a FIFO queue (see the module docstring).

    Args:
        app: the app to guard.
        routes: the app's routes, flat (no nested routers; called at each request).
        authorize: the auth dependency; routes that depend on it need a token.
        check_token: checks an ``Authorization`` header value, raising
            :class:`~netslice.orchestration.api.errors.ApiError` (401/403).
        max_body_bytes: largest accepted request body, in bytes.

    Raises:
        ConfigError: ``max_body_bytes`` is not a positive integer.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Callable[[], Sequence[BaseRoute]],
        authorize: Callable[..., Any],
        check_token: Callable[[str | None], None],
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        check_max_body_bytes(max_body_bytes)
        self.app = app
        self.routes = routes
        self.authorize = authorize
        self.check_token = check_token
        self.max_body_bytes = max_body_bytes
        # One FIFO lock per event loop (a TestClient runs each request in a loop of its own).
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.Lock] = weakref.WeakKeyDictionary()

    def _route(self, scope: Scope) -> BaseRoute | None:
        for route in self.routes():
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
        return None

    def _queue(self) -> anyio.Lock:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = anyio.Lock()
        return queue

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
        """Check, read and queue one request (see the module docstring)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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

        if route is not None and is_sync(route):
            async with self._queue():
                await self.app(scope, replay, send)
        else:
            await self.app(scope, replay, send)
