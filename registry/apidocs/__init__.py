"""The API's reference pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with
their scripts and styles from this package.

FastAPI's own pages load Swagger UI and ReDoc from a CDN and ReDoc's fonts from Google:
on a machine without internet ``/docs`` is a blank page. The files in ``static/`` are the
npm registry's ``swagger-ui-dist`` and ``redoc`` bundles with their licenses, unchanged
but for ReDoc's logo, which it loads from Redocly's CDN (``static/VERSIONS.md`` says
which versions, that change, and how to update them). Swagger UI comes from npm rather
than PyPI's ``swagger-ui-bundle``, whose Swagger UI 4 cannot render the OpenAPI 3.1
document FastAPI writes.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "STATIC_DIR", "install_api_docs"]

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PATH = "/docs/assets"


def install_api_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` on ``app`` from local assets.

    The app must be made with ``docs_url=None`` and ``redoc_url=None``, or FastAPI's CDN
    pages would answer first.
    """
    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC_DIR), name="apidocs")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=None,
            # Swagger UI's badge would send the document to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            with_google_fonts=False,
        )


def _root_path(request: Request) -> str:
    """The prefix the app is mounted under (ASGI ``root_path``), as FastAPI's pages use it."""
    return str(request.scope.get("root_path", "")).rstrip("/")
