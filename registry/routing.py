"""Routes that check the request's API key in the same worker thread as their code.

FastAPI runs a sync dependency and a sync endpoint each in a trip to the thread pool. The
key check needs the store, so as a dependency of its own it cost every request a second
trip (a hand-off to a worker thread and back to the event loop) before the route's code
ran in a third. A :class:`KeyCheckingRoute` runs the check at the start of the route's
own trip instead: :func:`registry.dependencies.requires` hands such a route a pending
:class:`~registry.dependencies.Access`, which the endpoint's wrapper turns into the
principal before the route's code runs. When the route's code has returned, the same
trip commits and closes the request's session (:func:`registry.dependencies.finish_session`),
which had cost a trip of its own, and on SQLite kept the write lock until the event loop
got round to scheduling it.

A JSON body is parsed by :func:`registry.inputs.parse_json_body` (which refuses one nested
too deep) before FastAPI reads it; a large one is parsed and validated in a worker thread,
so no request's body is worked through on the event loop.

A lint, whose work the caller controls and which uses the CPU throughout, runs in one of
the CPU-bound slots (:func:`registry.workers.run_cpu_bound`).

What does not change: a request without a key, or with a malformed one, is refused
before anything else; the key is looked up on every request, on the request's session;
the route's code never runs for a key that is unknown, revoked, expired, of too small a
role or outside its folder. What does: parameters and the body are validated before the
key is looked up, so a request that is invalid in both ways is answered 422, not 401.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, Self

import anyio.to_thread
from fastapi import Request, Response, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from registry.dependencies import Access, finish_session
from registry.inputs import json_content_type, parse_json_body
from registry.workers import run_cpu_bound

# A body up to this size is parsed on the event loop: a fraction of a millisecond of
# work, less than a trip to a worker thread costs.
PARSE_ON_LOOP_BYTES = 16 * 1024
CPU_BOUND_ROUTES = ("/v1/lint",)


def _check_access(values: dict[str, Any]) -> None:
    """Replace each pending access check among an endpoint's arguments by its principal."""
    for name, value in values.items():
        if isinstance(value, Access):
            values[name] = value.check()


def _call_checked(endpoint: Callable[..., Any], values: dict[str, Any]) -> Any:
    _check_access(values)
    result = endpoint(**values)
    # The route's code is done: commit and close its session in this thread.
    for value in values.values():
        if isinstance(value, Session):
            finish_session(value)
    return result


def checking_key_in_thread(
    endpoint: Callable[..., Any], *, cpu_bound: bool = False
) -> Callable[..., Any]:
    """``endpoint``, made to run its access checks in the same worker thread as its code.

    FastAPI sees the endpoint's own signature (``functools.wraps``) and awaits the
    wrapper, which makes the one trip to the thread pool itself (through
    :func:`run_cpu_bound` if the endpoint is ``cpu_bound``).
    """
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(**values: Any) -> Any:
            if any(isinstance(value, Access) for value in values.values()):
                await run_in_threadpool(_check_access, values)
            return await endpoint(**values)

        return run_async

    @functools.wraps(endpoint)
    async def run(**values: Any) -> Any:
        if cpu_bound:
            return await run_cpu_bound(_call_checked, endpoint, values)
        return await run_in_threadpool(_call_checked, endpoint, values)

    return run


class KeyCheckingRoute(APIRoute):
    """An API route whose endpoint checks the request's key in its own worker thread."""

    checks_key_in_route = True

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        writes = {m.upper() for m in kwargs.get("methods") or ()} & {"POST", "PUT"}
        cpu_bound = bool(writes) and path.endswith(CPU_BOUND_ROUTES)
        super().__init__(path, checking_key_in_thread(endpoint, cpu_bound=cpu_bound), **kwargs)
        _refuse_nested_access(self)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        field = self.body_field
        if field is None or isinstance(field.field_info, params.Form):
            return handler
        # FastAPI validates one body model given whole (not embedded under its name) the
        # same way; such a body is validated with its parsing, and FastAPI then takes the
        # model as it is.
        whole = not self._embed_body_fields

        def parsed(body: bytes) -> Any:
            try:
                value = parse_json_body(body)
            except json.JSONDecodeError as exc:
                raise _invalid_json(exc) from None
            if not whole:
                return value
            model, errors = field.validate(value, {}, loc=("body",))
            if errors:
                raise RequestValidationError(errors, body=value)
            return model

        async def parse_then_handle(request: Request) -> Response:
            if json_content_type(request.headers.get("content-type")):
                body = await request.body()
                if len(body) > PARSE_ON_LOOP_BYTES:
                    # Starlette's own cache of the parsed body, which FastAPI reads next.
                    request._json = await anyio.to_thread.run_sync(parsed, body)
                elif body:
                    try:
                        request._json = parse_json_body(body)
                    except json.JSONDecodeError as exc:
                        raise _invalid_json(exc) from None
            return await handler(request)

        return parse_then_handle


class Parameters(BaseModel):
    """A route's query parameters (and the headers named in ``HEADERS``) as one model,
    validated in one step by :meth:`read`, for a route every application calls on every
    use of a prompt.

    FastAPI validates each parameter a route declares with its own bookkeeping around
    Pydantic's: about 25 µs a parameter, the most a resolve cost after its two reads
    (``bench/RESULTS.md``). The model is the parameters' one declaration: :meth:`read`
    refuses a request as FastAPI does (422, each error located at ``("query", name)``),
    and :meth:`openapi` gives the operation's parameters as FastAPI writes them.
    """

    model_config = ConfigDict(frozen=True)
    # The fields read from a header of the same name, with "-" for "_".
    HEADERS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def read(cls, request: Request) -> Self:
        """The request's parameters; 422 if any is invalid."""
        query, headers = request.query_params, request.headers
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            value = headers.get(name.replace("_", "-")) if name in cls.HEADERS else query.get(name)
            if value is not None:
                values[name] = value
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            errors = []
            for error in exc.errors(include_url=False):
                name = str(error["loc"][0])
                where = (
                    ("header", name.replace("_", "-")) if name in cls.HEADERS else ("query", name)
                )
                errors.append({**error, "loc": (*where, *error["loc"][1:])})
            raise RequestValidationError(errors) from None

    @classmethod
    def openapi(cls) -> list[dict[str, Any]]:
        """The parameters as an OpenAPI operation lists them (``openapi_extra``)."""
        properties = cls.model_json_schema()["properties"]
        parameters = []
        for name, field in cls.model_fields.items():
            schema = dict(properties[name])
            if schema.get("default", ...) is None:
                del schema["default"]
            header = name in cls.HEADERS
            parameter: dict[str, Any] = {
                "name": name.replace("_", "-") if header else name,
                "in": "header" if header else "query",
                "required": field.is_required(),
                "schema": schema,
            }
            if field.description:
                parameter["description"] = field.description
            parameters.append(parameter)
        return parameters


def _invalid_json(exc: json.JSONDecodeError) -> RequestValidationError:
    """FastAPI's own error for a body that is not JSON."""
    error = {
        "type": "json_invalid",
        "loc": ("body", exc.pos),
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": exc.msg},
    }
    return RequestValidationError([error], body=exc.doc)


def _refuse_nested_access(route: APIRoute) -> None:
    """Only the endpoint's own parameters are checked by its wrapper: an access declared
    by a sub-dependency would reach it unchecked, so such a route is refused at start-up."""
    pending = [d for top in route.dependant.dependencies for d in top.dependencies]
    while pending:
        dependant = pending.pop()
        if getattr(dependant.call, "permission", None) is not None:
            raise TypeError(
                f"{route.path}: declare the access (ReadAccess, …) as a parameter of the "
                "endpoint itself, not of one of its dependencies"
            )
        pending.extend(dependant.dependencies)
