"""Error responses of the REST API: one JSON shape, one status per error class.

Every error is ``{"error": {"status": int, "type": str, "message": str}}``; the message names the field
and the rule it broke (``attributes.rRMPolicyMinRatio: ...``). ``type`` is the netslice error class
name for netslice errors, so that :class:`~netslice.orchestration.api.client.OrchestratorClient` can
raise the same class again.

==================================================  ======  ==========================
raised                                              status  ``type``
==================================================  ======  ==========================
body is not JSON (syntax, invalid UTF-8, nesting   400     ``MalformedJSON``
deeper than the parser allows, a huge integer)
missing or malformed ``Authorization: Bearer``      401     ``Unauthorized``
wrong token                                         403     ``Forbidden``
:class:`~netslice.errors.NotFoundError`, no route   404     ``NotFoundError``
method not allowed on the resource                  405     ``MethodNotAllowed``
:class:`~netslice.errors.ConflictError`             409     ``ConflictError``
:class:`~netslice.errors.AdmissionError`            409     ``AdmissionError``
body over ``max_body_bytes`` (limits.RequestGuard)  413     ``PayloadTooLarge``
body that is not JSON by its ``Content-Type``       415     ``UnsupportedMediaType``
:class:`~netslice.errors.ConfigError`               422     ``ConfigError``
:class:`~netslice.errors.InvalidAllocationError`    422     ``InvalidAllocationError``
request or pydantic validation error                422     ``ValidationError``
a domain manager raised on the slow (NRM) path      502     ``DomainFault``
anything else                                       500     ``InternalError``
==================================================  ======  ==========================
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from netslice.errors import (
    AdmissionError,
    ConfigError,
    ConflictError,
    InvalidAllocationError,
    NetsliceError,
    NotFoundError,
    UnknownScenarioError,
)
from netslice.orchestration.api.codec import error_body

#: Status of each netslice error class (the first matching base wins, most specific first).
STATUS_OF: tuple[tuple[type[NetsliceError], int], ...] = (
    (AdmissionError, 409),
    (ConflictError, 409),
    (NotFoundError, 404),
    (UnknownScenarioError, 404),
    (InvalidAllocationError, 422),
    (ConfigError, 422),
)


class ApiError(Exception):
    """An HTTP error raised by the API itself (auth, media type, malformed body, domain faults).

    Args:
        status: HTTP status.
        type_: the ``type`` field of the error body.
        message: what went wrong, naming the field.
        headers: extra response headers (``WWW-Authenticate`` for 401).
    """

    def __init__(self, status: int, type_: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.headers = dict(headers or {})


#: Longest message an error response carries, and longest run of digits it echoes.
MAX_MESSAGE_CHARS = 2000
MAX_DIGITS = 20
_DIGITS = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


def brief(message: str) -> str:
    """``message`` shortened so that no error echoes a huge input back.

    Every run of more than :data:`MAX_DIGITS` digits is cut, and the whole to :data:`MAX_MESSAGE_CHARS`.

    >>> brief("vCpu: asks for 125" + "0" * 300 + ".000 of the capacity")
    'vCpu: asks for 12500000000000000000...(303 digits).000 of the capacity'
    """
    out = _DIGITS.sub(lambda m: f"{m.group()[:MAX_DIGITS]}...({len(m.group())} digits)", message)
    return out if len(out) <= MAX_MESSAGE_CHARS else out[: MAX_MESSAGE_CHARS - 3] + "..."


def error_response(status: int, type_: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A response in the API's error shape (the message shortened by :func:`brief`)."""
    return JSONResponse(error_body(status, type_, brief(message)), status_code=status, headers=dict(headers or {}))


def body_parse_error(exc: BaseException | None) -> str | None:
    """What is wrong with a request body FastAPI could not decode (``exc``: the cause of its 400), or ``None``."""
    if isinstance(exc, UnicodeDecodeError):
        return f"body: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
    if isinstance(exc, RecursionError):
        return "body: not valid JSON here (arrays/objects nested deeper than the parser allows)"
    if isinstance(exc, ValueError) and "digits" in str(exc):
        return "body: not valid JSON here (an integer with more than 4300 digits; send a float or a string)"
    if isinstance(exc, ValueError):
        return f"body: not valid JSON ({type(exc).__name__})"
    return None


def format_errors(errors: Sequence[Any]) -> str:
    """``loc: message`` per pydantic/FastAPI error, joined by ``; ``; a leading ``body`` is left out of the loc."""
    items = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ())]
        if loc and loc[0] == "body":
            loc = loc[1:]
        ctx = e.get("ctx") or {}
        msg = str(ctx["error"]) if e.get("type") == "value_error" and "error" in ctx else str(e.get("msg", ""))
        items.append(f"{'.'.join(loc) or 'body'}: {msg}")
    return "; ".join(items)


def _netslice_error(_: Request, exc: Exception) -> JSONResponse:
    status = next((s for cls, s in STATUS_OF if isinstance(exc, cls)), 400)
    return error_response(status, type(exc).__name__, str(exc))


def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.type, exc.message, exc.headers)


def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = "; ".join(str((e.get("ctx") or {}).get("error", e.get("msg"))) for e in errors)
        return error_response(400, "MalformedJSON", f"body: not valid JSON ({detail})")
    if isinstance(exc.body, bytes | bytearray):
        media = request.headers.get("content-type", "none")
        return error_response(
            415, "UnsupportedMediaType", f"Content-Type: the body must be JSON (application/json), got {media}"
        )
    return error_response(422, "ValidationError", format_errors(errors))


def _pydantic_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    return error_response(422, "ValidationError", f"{exc.title}: {format_errors(exc.errors())}")


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kinds = {404: "NotFoundError", 405: "MethodNotAllowed", 400: "BadRequest", 413: "PayloadTooLarge"}
    message = str(exc.detail)
    parse_error = body_parse_error(exc.__cause__) if exc.status_code == 400 else None
    if parse_error is not None:
        return error_response(400, "MalformedJSON", parse_error)
    if exc.status_code == 404 and message == "Not Found":
        message = "path: no such resource"
    return error_response(exc.status_code, kinds.get(exc.status_code, "HTTPError"), message, exc.headers)


def _internal_error(_: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after this response is sent, so the server logs the traceback.
    return error_response(500, "InternalError", f"internal error: {type(exc).__name__}: {exc}")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into the API's error shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(NetsliceError, _netslice_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(ValidationError, _pydantic_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
