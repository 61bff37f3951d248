"""The console's routes under ``/console``, its static files, and ``/`` leading there.

Each area's pages live in a module of ``pages/`` with a router of its own, included
here. Routes are sync (``def``): FastAPI runs them in its worker threads, so no page
reads the store on the event loop.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from registry.console import auth
from registry.console.auth import ViewerDep
from registry.console.pages import admin, browse, editor, prompts, review, translate
from registry.console.views import PREFIX, ConsoleRoute, redirect, render
from registry.errors import NotFound
from registry.locales.messages import _

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=ConsoleRoute)


@router.get("")
def home(request: Request, _viewer: ViewerDep) -> Response:
    """The console opens on the prompt list."""
    return redirect(f"{PREFIX}/prompts", request)


# The editor's routes (``/prompts/{name}/-/edit``…) before the prompt page's catch-all.
for area in (auth, browse, editor, prompts, admin, translate, review):
    router.include_router(area.router)

# Last: a console address that no page answers is a page saying so, not problem+json.
_fallback = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=ConsoleRoute)


@_fallback.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(request: Request, rest: str) -> Response:
    """No console page is here."""
    raise NotFound(_("there is nothing at {path}").format(path=request.url.path))


def install(app: FastAPI) -> None:
    """Serve the console, its assets, and send ``/`` to it."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    app.include_router(router)
    app.include_router(_fallback)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(PREFIX, status_code=307)


__all__ = ["install", "render", "router"]
