"""HTTP method semantics shared by the routers: HEAD wherever GET is served, OPTIONS, and 405 with ``Allow``.

:func:`add_method_routes` runs after a router's routes are declared. For every path it adds

* ``HEAD``: the GET route's endpoint (the server sends the headers only);
* ``OPTIONS``: 204 with ``Allow`` listing every method served on the path (``HEAD`` and ``OPTIONS`` included);
* every other method: 405 ``MethodNotAllowed`` in the API's error shape, with the same ``Allow`` header.

None of these appear in the OpenAPI schema (they are the same on every path).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from netslice.orchestration.api.errors import ApiError

#: Methods a path can be asked for.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed(methods: set[str]) -> str:
    """The ``Allow`` header value for the served ``methods`` (HEAD with GET, always OPTIONS), in a fixed order."""
    served = set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    return ", ".join(m for m in METHODS if m in served)


def add_method_routes(router: APIRouter) -> None:
    """Add HEAD, OPTIONS and 405 routes to every path of ``router`` (see the module docstring)."""
    served: dict[str, set[str]] = {}
    gets: dict[str, APIRoute] = {}
    for route in list(router.routes):
        if isinstance(route, APIRoute):
            path = route.path.removeprefix(router.prefix)
            route_methods = route.methods or set()
            served.setdefault(path, set()).update(route_methods)
            if "GET" in route_methods:
                gets[path] = route
    for path, methods in served.items():
        allow = allowed(methods)
        if path in gets and "HEAD" not in methods:
            get = gets[path]
            router.add_api_route(
                path, get.endpoint, methods=["HEAD"], dependencies=get.dependencies, include_in_schema=False
            )
        router.add_api_route(path, _options(allow), methods=["OPTIONS"], include_in_schema=False)
        others = [m for m in METHODS if m not in allow.split(", ")]
        if others:
            router.add_api_route(path, _not_allowed(allow), methods=others, include_in_schema=False)


def _options(allow: str) -> Callable[[], Response]:
    def options() -> Response:
        return Response(status_code=204, headers={"Allow": allow})

    return options


def _not_allowed(allow: str) -> Callable[[Request], Response]:
    def not_allowed(request: Request) -> Response:
        raise ApiError(
            405,
            "MethodNotAllowed",
            f"method: {request.method} is not allowed on {request.url.path}; allowed: {allow}",
            headers={"Allow": allow},
        )

    return not_allowed
