"""Request bodies decoded and validated off the event loop.

FastAPI decodes a JSON body and validates it against the route's pydantic model in the event loop, before the
route runs; for a body near the size limit that is a few hundred milliseconds in which no other client is
served (a 1.5 MB NetworkSlice: ~140 ms to decode, ~480 ms to validate). Here

* :class:`OffLoopRoute` (the ``route_class`` of the ProvMnS and agent routers) decodes a body of
  :data:`OFF_LOOP_MIN_BYTES` or more in a worker thread of its own limiter (:data:`DECODE_THREADS` threads,
  not the orchestrator's queue), with exactly the exceptions FastAPI would see, so every parse error keeps its
  answer (``MalformedJSON``); smaller bodies decode in the loop, faster than a thread hop;
* a body annotated ``Annotated[Model, SkipValidation, Body(title="Model")]`` keeps the model's schema in
  OpenAPI but skips FastAPI's validation; the synchronous route, already in its worker thread, validates it
  with :func:`validate_body`, which raises what FastAPI would have raised (the same 422 or 415 answer, the
  same messages).
"""

from __future__ import annotations

import json
import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

#: Threads that decode request bodies (per event loop).
DECODE_THREADS = 2
#: Bodies smaller than this are decoded in the event loop: well under a millisecond, less than a thread hop.
OFF_LOOP_MIN_BYTES = 64 * 1024
_limiters: weakref.WeakKeyDictionary[AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()


def _decode_limiter() -> CapacityLimiter:
    loop = get_running_loop()
    if loop not in _limiters:
        _limiters[loop] = CapacityLimiter(DECODE_THREADS)
    return _limiters[loop]


def decode(body: bytes) -> Any:
    """The JSON value of a body (what FastAPI's ``Request.json`` computes)."""
    return json.loads(body)


class OffLoopRequest(Request):
    """A request whose :meth:`json` decodes a large body in a worker thread."""

    async def json(self) -> Any:
        """The decoded body (cached); the exceptions of :func:`json.loads` propagate unchanged."""
        if not hasattr(self, "_json"):
            body = await self.body()
            if len(body) < OFF_LOOP_MIN_BYTES:
                self._json = decode(body)
            else:
                self._json = await anyio.to_thread.run_sync(decode, body, limiter=_decode_limiter())
        return self._json


class OffLoopRoute(APIRoute):
    """An :class:`~fastapi.routing.APIRoute` whose handler sees an :class:`OffLoopRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, given the request as an :class:`OffLoopRequest`."""
        handler = super().get_route_handler()

        async def off_loop_handler(request: Request) -> Response:
            return await handler(OffLoopRequest(request.scope, request.receive))

        return off_loop_handler


def validate_body(model: type[M], body: Any) -> M:
    """Validate a body that skipped FastAPI's validation as FastAPI would have.

    Raises:
        RequestValidationError: the body breaks the model (422 ``ValidationError``, fields under ``body``),
            or was not JSON by its Content-Type (its raw bytes: 415 ``UnsupportedMediaType``).
    """
    if isinstance(body, bytes | bytearray):
        raise RequestValidationError(
            [{"type": "model_attributes_type", "loc": ("body",), "msg": "not JSON"}], body=body
        )
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=body) from None
