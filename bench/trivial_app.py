"""The baseline for the HTTP benchmarks: a trivial FastAPI endpoint with a small JSON body.

``app`` is the baseline the targets compare with. The other apps take it apart, to show
where the time of a request goes before any registry code runs:

- ``raw``: the same JSON from a bare ASGI callable (uvicorn's own cost);
- ``app`` at ``/ping-async``: FastAPI without the threadpool hop of a sync endpoint;
- ``app`` at ``/ping-deps``: a sync endpoint with an async generator dependency that makes a
  second trip to the thread pool when the request ends, the shape of the registry's
  session dependency (its commit runs in the thread pool; the key check runs in the
  route's own trip, see ``registry.routing``);
- ``with_middleware``: ``app`` behind the registry's two ASGI middlewares.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

BODY = {"status": "ok", "service": "baseline", "version": "1"}

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, str]:
    """A small JSON body, served like the registry's sync endpoints (threadpool)."""
    return BODY


@app.get("/ping-async")
async def ping_async() -> dict[str, str]:
    """The same body from an async endpoint: no threadpool hop."""
    return BODY


def _commit() -> None:
    """Stands for the commit: nothing, in the thread pool."""


async def _session() -> AsyncIterator[None]:
    """Stands for the registry's session dependency: async, its exit in the thread pool."""
    yield None
    await run_in_threadpool(_commit)


@app.get("/ping-deps")
def ping_deps(session: Annotated[None, Depends(_session, scope="function")]) -> dict[str, str]:
    """The same body, with a session dependency shaped like the registry's."""
    return BODY


_RAW = json.dumps(BODY, separators=(",", ":")).encode()
_RAW_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_RAW))]


async def raw(scope: Scope, receive: Receive, send: Send) -> None:
    """The same answer from a bare ASGI callable: the server's cost alone."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _RAW_HEADERS})
    await send({"type": "http.response.body", "body": _RAW})


def with_middleware() -> FastAPI:
    """``app``'s endpoint behind the middlewares the registry's app adds."""
    from registry.app import BodySizeLimit
    from registry.locales.middleware import LocaleMiddleware

    wrapped = FastAPI()
    wrapped.add_api_route("/ping", ping)
    wrapped.add_middleware(BodySizeLimit, max_bytes=1_048_576)
    wrapped.add_middleware(LocaleMiddleware)
    return wrapped
