"""The ASGI application: routers, error handling and the request-size limit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry import __version__
from registry.config import Settings, get_settings
from registry.db import Database
from registry.dependencies import SessionDep
from registry.errors import (
    Conflict,
    ErrorItem,
    InvalidInput,
    PayloadTooLarge,
    RegistryError,
    Unavailable,
)
from registry.prompts.models import ImmutableVersionError
from registry.prompts.router import router as prompts_router

log = logging.getLogger("registry")

PROBLEM_JSON = "application/problem+json"


def problem_response(error: RegistryError) -> JSONResponse:
    return JSONResponse(
        error.problem(), status_code=error.status, media_type=PROBLEM_JSON, headers=error.headers
    )


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with a 413, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(
            f"the request body is larger than {self.max_bytes} bytes",
            [ErrorItem(loc=("body",), message=f"send at most {self.max_bytes} bytes")],
        )
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await problem_response(too_large)(scope, receive, send)
                return

        # Buffer the body (it is small by definition) so an oversized stream is refused
        # before the app reads any of it.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await problem_response(too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _validation_items(exc: RequestValidationError) -> list[ErrorItem]:
    items = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid value"))
        ctx = err.get("ctx") or {}
        if err.get("type") == "string_pattern_mismatch" and "pattern" in ctx:
            message = f"must match the pattern {ctx['pattern']}"
        items.append(ErrorItem(loc=tuple(err.get("loc", ())), message=message))
    return items


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryError)
    async def _registry_error(_: Request, exc: RegistryError) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = _validation_items(exc)
        summary = "; ".join(f"{'.'.join(map(str, i.loc))}: {i.message}" for i in items[:5])
        return problem_response(InvalidInput(f"the request is not valid: {summary}", items))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = RegistryError(str(exc.detail), headers=dict(exc.headers or {}))
        body = error.problem()
        body.update(status=exc.status_code, title=_title(exc.status_code), type="about:blank")
        return JSONResponse(
            body, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=error.headers
        )

    @app.exception_handler(ImmutableVersionError)
    async def _immutable(_: Request, exc: ImmutableVersionError) -> JSONResponse:
        return problem_response(Conflict(str(exc)))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity conflict: %s", exc.orig)
        return problem_response(
            Conflict("the change clashes with a concurrent change; read again and retry")
        )

    @app.exception_handler(OperationalError)
    async def _operational(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return problem_response(
            Unavailable("the database is busy; retry shortly", headers={"Retry-After": "1"})
        )

    @app.exception_handler(DBAPIError)
    async def _dbapi(_: Request, exc: DBAPIError) -> JSONResponse:
        log.exception("database error", exc_info=exc)
        return problem_response(RegistryError("the database reported an error"))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(RegistryError("an unexpected error occurred; it has been logged"))


def _title(status_code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """The registry's ASGI app; pass ``db`` to share an engine (tests, embedding)."""
    settings = settings or get_settings()
    owns_db = db is None
    database = db or Database.from_url(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        echo=settings.log_sql,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_db:
            database.dispose()

    app = FastAPI(
        title="Prompt registry",
        version=__version__,
        description="Versioned, style-checked, localized prompt templates.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    install_error_handlers(app)
    app.include_router(prompts_router)

    @app.get("/healthz", tags=["meta"])
    def healthz(session: SessionDep) -> dict[str, Any]:
        """Liveness and database reachability."""
        session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
