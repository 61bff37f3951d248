"""The ASGI application: routers, error handling and the request-size limit."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import ExitStack, asynccontextmanager
from http import HTTPStatus
from typing import Any

import anyio.to_thread
from babel.lists import format_list
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry import __version__
from registry.access.roles import LEAST_ROLE
from registry.access.router import router as access_router
from registry.apidocs import install_api_docs
from registry.backup.router import router as backup_router
from registry.config import Settings, get_settings
from registry.console import router as console
from registry.db import Database, Failure, failure_of
from registry.dependencies import declared_permission
from registry.errors import (
    MAX_LISTED,
    Conflict,
    ErrorItem,
    InvalidInput,
    PayloadTooLarge,
    RegistryError,
    summarize,
)
from registry.events.delivery import running_worker
from registry.events.router import router as webhooks_router
from registry.experiments.router import router as experiments_router
from registry.health import database_unavailable
from registry.health import router as health_router
from registry.locales.messages import N_, _, _n, current_locale, request_locale, use_locale
from registry.locales.middleware import LocaleMiddleware, language_headers
from registry.observability.metrics import count_refusal
from registry.observability.middleware import RequestMetrics
from registry.observability.router import router as metrics_router
from registry.prompts.kept import KeptResolutions
from registry.prompts.models import ImmutableVersionError
from registry.prompts.router import router as prompts_router
from registry.prompts.router import serving_router
from registry.style.router import router as style_router
from registry.translations.router import router as translations_router

log = logging.getLogger("registry")

PROBLEM_JSON = "application/problem+json"


class ProblemItem(BaseModel):
    """One bad field, entry or span of a problem."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then keys.")
    message: str
    line: int | None = None
    column: int | None = None


class Problem(BaseModel):
    """An RFC 9457 problem; some carry extension members (e.g. `findings`)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemItem] = Field(description=f"At most {MAX_LISTED} items.")
    errors_omitted: int | None = Field(
        default=None, description="How many items `errors` leaves out; absent when none."
    )


def _problem_content(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


# Declared on every operation instead of FastAPI's default 422 body, which is not ours.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": _problem_content("The request is refused; `detail` and `errors` say why."),
    "5XX": _problem_content("The store is unavailable; retry after `Retry-After`."),
}


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
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await problem_response(self._too_large())(scope, receive, send)
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
                await problem_response(self._too_large())(scope, receive, send)
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

    def _too_large(self) -> PayloadTooLarge:
        limit = self.max_bytes
        return PayloadTooLarge(
            _n(
                "the request body is larger than {max_bytes} byte",
                "the request body is larger than {max_bytes} bytes",
                limit,
            ).format(max_bytes=limit),
            [
                ErrorItem(
                    loc=("body",),
                    message=_n(
                        "send at most {max_bytes} byte", "send at most {max_bytes} bytes", limit
                    ).format(max_bytes=limit),
                )
            ],
        )


def _validation_items(exc: RequestValidationError) -> list[ErrorItem]:
    """The items of the first ``MAX_LISTED`` errors; a problem lists no more."""
    items = []
    for err in exc.errors()[:MAX_LISTED]:
        loc = tuple(err.get("loc", ()))
        line = column = None
        if err.get("type") == "json_invalid" and isinstance(exc.body, str):
            # The decoder's position is a character offset; editors show lines and columns.
            line, column = _line_and_column(exc.body, loc)
        items.append(ErrorItem(loc=loc, message=_validation_message(err), line=line, column=column))
    return items


def _line_and_column(text: str, loc: tuple[Any, ...]) -> tuple[int | None, int | None]:
    position = loc[-1] if loc else None
    if not isinstance(position, int) or not 0 <= position <= len(text):
        return None, None
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


def _validation_message(err: Mapping[str, Any]) -> str:
    """Pydantic's message for one error, in the request's locale.

    The error types have messages of our own, with the error's context values as
    placeholders. A type without one (none of the API's fields makes one today) is
    "invalid value" with Pydantic's English words set apart after it.
    """
    pydantic_says = str(err.get("msg") or "")
    if pydantic_says:
        # TRANSLATORS: {cause} is the validation library Pydantic's message, in English.
        fallback = _("invalid value (Pydantic: {cause})").format(cause=pydantic_says)
    else:
        fallback = _("invalid value")
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    try:
        message = _known_validation_message(str(err.get("type", "")), ctx)
    except (KeyError, IndexError, ValueError, TypeError):
        # A context without the values the message needs: Pydantic's text is still right.
        return fallback
    return fallback if message is None else message


def _known_validation_message(kind: str, ctx: Mapping[str, Any]) -> str | None:
    # Limits are echoed as the API schema writes them, not in localized digits.
    match kind:
        case "missing":
            return _("this field is required")
        case "extra_forbidden":
            return _("this field is not allowed here")
        case "string_pattern_mismatch":
            return _("must match the pattern {pattern}").format(pattern=ctx["pattern"])
        case "string_too_short":
            n = int(ctx["min_length"])
            return _n(
                "must be at least {min_length} character long",
                "must be at least {min_length} characters long",
                n,
            ).format(min_length=n)
        case "string_too_long":
            n = int(ctx["max_length"])
            return _n(
                "must be at most {max_length} character long",
                "must be at most {max_length} characters long",
                n,
            ).format(max_length=n)
        case "too_short":
            n = int(ctx["min_length"])
            return _n(
                "must have at least {min_length} item",
                "must have at least {min_length} items",
                n,
            ).format(min_length=n)
        case "too_long":
            n = int(ctx["max_length"])
            return _n(
                "must have at most {max_length} item",
                "must have at most {max_length} items",
                n,
            ).format(max_length=n)
        case "string_type" | "string_unicode":
            return _("must be a string")
        case "int_type" | "int_parsing" | "int_parsing_size":
            return _("must be an integer")
        case "int_from_float":
            return _("must be a whole number")
        case "float_type" | "float_parsing" | "decimal_type" | "decimal_parsing":
            return _("must be a number")
        case "finite_number":
            return _("must be a finite number")
        case "bool_type" | "bool_parsing":
            return _("must be true or false")
        case "list_type" | "tuple_type" | "set_type":
            return _("must be a list")
        case "dict_type" | "model_type" | "model_attributes_type":
            return _("must be a JSON object")
        case "greater_than":
            return _("must be greater than {gt}").format(gt=ctx["gt"])
        case "greater_than_equal":
            return _("must be greater than or equal to {ge}").format(ge=ctx["ge"])
        case "less_than":
            return _("must be less than {lt}").format(lt=ctx["lt"])
        case "less_than_equal":
            return _("must be less than or equal to {le}").format(le=ctx["le"])
        case "literal_error" | "enum":
            return _("must be one of {expected}").format(expected=_choices(ctx["expected"]))
        case "value_error" | "assertion_error":
            # A validator's message is translated when raised, in the request's locale;
            # one raised as an English msgid is translated here.
            return _("invalid value: {reason}").format(reason=_(str(ctx["error"])))
        case "json_invalid":
            return _("the body is not valid JSON: {error}").format(
                error=_json_reason(str(ctx["error"]))
            )
        case "datetime_type" | "datetime_parsing" | "datetime_from_date_parsing":
            return _("must be a date and time in ISO 8601 format")
    return None


# What Python's JSON decoder says (json.JSONDecodeError.msg), in the registry's words.
_JSON_REASONS: dict[str, str] = {
    "Expecting value": N_(
        "a value was expected here: a string, number, object, array, true, false or null"
    ),
    "Expecting property name enclosed in double quotes": N_(
        "a property name in double quotes was expected here"
    ),
    "Expecting ':' delimiter": N_("a ':' was expected here, after the property name"),
    "Expecting ',' delimiter": N_("a ',' or a closing bracket was expected here"),
    "Unterminated string starting at": N_("a string starts here and is never closed"),
    "Invalid control character at": N_(
        "a control character inside a string; write it escaped, e.g. \\n or \\t"
    ),
    "Invalid \\escape": N_("an escape in a string that JSON does not have"),
    "Invalid \\uXXXX escape": N_("\\u must be followed by four hexadecimal digits"),
    "Extra data": N_("more data follows the JSON value"),
    "Illegal trailing comma before end of object": N_("a comma before the closing brace"),
    "Illegal trailing comma before end of array": N_("a comma before the closing bracket"),
}


def _json_reason(decoder_says: str) -> str:
    """Why a body is not JSON, in the request's locale (the position is in the loc)."""
    if decoder_says.startswith("invalid UTF-8"):
        return _("the body is not UTF-8 text")
    reason = _JSON_REASONS.get(decoder_says)
    return _("it cannot be read here") if reason is None else _(reason)


_CHOICE = re.compile(r"'[^',]*'|-?[0-9]+(?:\.[0-9]+)?")


def _choices(expected: str) -> str:
    """Pydantic's "'a', 'b' or 'c'" as a list in the request's locale ("'a', 'b' oder 'c'")."""
    head, sep, last = expected.rpartition(" or ")
    choices = [*head.split(", "), last] if sep else [expected]
    if not all(_CHOICE.fullmatch(choice) for choice in choices):
        return expected
    return str(format_list(choices, style="or", locale=current_locale()))


# The phrases of statuses Starlette answers for the app (unknown route, wrong method, …).
_STATUS_TITLES: dict[int, str] = {
    400: N_("Bad request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    406: N_("Not acceptable"),
    409: N_("Conflict"),
    413: N_("Request body too large"),
    415: N_("Unsupported media type"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Internal error"),
    503: N_("Service unavailable"),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryError)
    async def _registry_error(_request: Request, exc: RegistryError) -> JSONResponse:
        count_refusal(exc)
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        items = _validation_items(exc)
        total = len(exc.errors())
        problems = [f"{'.'.join(map(str, i.loc))}: {i.message}" for i in items]
        summary = summarize(problems, total=total)
        detail = _("the request is not valid: {problems}").format(problems=summary)
        return problem_response(InvalidInput(detail, items, errors_omitted=total - len(items)))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        error = RegistryError(_http_detail(request, exc, headers), headers=headers)
        body = error.problem()
        body.update(status=exc.status_code, title=_title(exc.status_code), type="about:blank")
        return JSONResponse(
            body, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=error.headers
        )

    @app.exception_handler(ImmutableVersionError)
    async def _immutable(_request: Request, exc: ImmutableVersionError) -> JSONResponse:
        return problem_response(Conflict(str(exc)))

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity conflict: %s", exc.orig)
        return problem_response(
            Conflict(_("the change clashes with a concurrent change; read again and retry"))
        )

    @app.exception_handler(SQLAlchemyTimeoutError)
    async def _pool_timeout(_request: Request, exc: SQLAlchemyTimeoutError) -> JSONResponse:
        # Every pooled connection stayed busy for the pool's whole timeout.
        log.warning("database unavailable: %s", exc)
        return problem_response(database_unavailable(exc))

    @app.exception_handler(DBAPIError)
    async def _dbapi(_request: Request, exc: DBAPIError) -> JSONResponse:
        if failure_of(exc) is not Failure.OTHER:
            # Unreachable, busy, full or read-only: a state of the database, not an error.
            log.warning("database unavailable: %s", exc.orig)
            return problem_response(database_unavailable(exc))
        # A missing table, say: the registry's error, not one a retry gets past.
        log.exception("database error", exc_info=exc)
        return problem_response(RegistryError(_("the database reported an error")))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        # Starlette runs this handler outermost, outside the locale middleware.
        locale = request_locale(request.headers.get("accept-language"))
        with use_locale(locale):
            error = RegistryError(_("an unexpected error occurred; it has been logged"))
            error.headers.update(language_headers(locale))
            return problem_response(error)


def _title(status_code: int) -> str:
    title = _STATUS_TITLES.get(status_code)
    if title is not None:
        return _(title)
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return _("Error")


def _http_detail(request: Request, exc: StarletteHTTPException, headers: dict[str, str]) -> str:
    """The detail of an HTTP error; Starlette's default (the status phrase) is made useful."""
    try:
        default = HTTPStatus(exc.status_code).phrase
    except ValueError:
        default = None
    if exc.detail != default:
        return str(exc.detail)
    if exc.status_code == 404:
        return _("there is nothing at {path}").format(path=request.url.path)
    if exc.status_code == 405 and "Allow" in headers:
        return _("{method} is not allowed on {path}; allowed: {allowed}").format(
            method=request.method, path=request.url.path, allowed=headers["Allow"]
        )
    return _title(exc.status_code)


def _document_permissions(app: FastAPI, schema: dict[str, Any]) -> None:
    """Name in each operation the least role that may call it (`x-required-role`)."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        permission = declared_permission(route)
        if permission is None:
            continue
        role = LEAST_ROLE[permission].value
        for method in context.methods or ():
            operation = schema["paths"].get(context.path_format, {}).get(method.lower())
            if operation is None:
                continue
            operation["x-required-role"] = role
            note = f"Needs an API key with the `{role}` role or above."
            operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """The registry's ASGI app; pass ``db`` to share an engine (tests, embedding)."""
    settings = settings or get_settings()
    owns_db = db is None
    database = db or Database.from_url(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        statement_timeout_ms=settings.statement_timeout_ms,
        echo=settings.log_sql,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Webhook deliveries run in a thread of their own; stopping it waits for a post.
        webhooks = ExitStack()
        webhooks.enter_context(running_worker(settings))
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(webhooks.close)
        if owns_db:
            database.dispose()

    app = FastAPI(
        title="Prompt registry",
        version=__version__,
        description="Versioned, style-checked, localized prompt templates.",
        lifespan=lifespan,
        # /docs and /redoc are served from local assets by install_api_docs, not a CDN.
        docs_url=None,
        redoc_url=None,
        responses=PROBLEM_RESPONSES,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = FastAPI.openapi(app)
        _document_permissions(app, schema)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        definitions = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(definitions.pop("$defs", {}))
        components["Problem"] = definitions
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.db = database
    # Resolutions kept by this process for the serving routes (registry.prompts.kept).
    app.state.kept_resolutions = KeptResolutions(settings.answer_cache_bytes)
    install_error_handlers(app)
    install_api_docs(app)
    # Before the prompts router: its catch-all `/v1/prompts/{name}` would shadow these.
    app.include_router(serving_router)
    app.include_router(translations_router)
    app.include_router(experiments_router)
    app.include_router(prompts_router)
    app.include_router(style_router)
    app.include_router(backup_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(access_router)
    app.include_router(webhooks_router)
    # The web console under /console, its assets, and / leading there.
    console.install(app)

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Outside the body-size limit, so its problems are translated too.
    app.add_middleware(LocaleMiddleware)
    # Outermost: every request is counted.
    app.add_middleware(RequestMetrics, routes=app.routes)
    return app
