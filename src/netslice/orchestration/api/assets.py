"""``GET /docs``: Swagger UI served from local files, so that the page works offline.

The Swagger UI distribution comes from the ``swagger-ui-bundle-v2`` package (module
``swagger_ui_bundle``, part of the ``api`` extra; Swagger UI 5, which renders OpenAPI 3.1). Its files
are mounted at :data:`ASSETS` and ``/docs`` refers to them only. Without the package, ``/docs``
falls back to FastAPI's page, which loads Swagger UI from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: URL prefix of the Swagger UI files.
ASSETS = "/docs/assets"


def swagger_ui_dir() -> Path | None:
    """The directory of the Swagger UI distribution, or ``None`` when ``swagger_ui_bundle`` is missing."""
    try:
        import swagger_ui_bundle  # optional: part of the api extra
    except ImportError:
        return None
    path = Path(str(swagger_ui_bundle.swagger_ui_path))
    return path if (path / "swagger-ui-bundle.js").is_file() else None


def install_docs(app: FastAPI, title: str) -> None:
    """Add ``GET /docs`` (Swagger UI over ``app.openapi_url``) and, when available, its local assets.

    Create ``app`` with ``docs_url=None`` so that FastAPI does not add its own CDN-based page.
    """
    directory = swagger_ui_dir()
    openapi_url = app.openapi_url or "/openapi.json"
    if directory is None:
        page = get_swagger_ui_html(openapi_url=openapi_url, title=f"{title} - Swagger UI")
    else:
        app.mount(ASSETS, StaticFiles(directory=directory), name="swagger-ui")
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return page
