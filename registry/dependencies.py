"""FastAPI dependencies every router shares."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Annotated, Any, TypeVar, get_args, get_origin, get_type_hints

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from registry.access import audit, keys
from registry.access.roles import Permission, Principal
from registry.config import Settings
from registry.db import Database, Reads
from registry.errors import Unauthorized
from registry.locales.messages import _
from registry.locales.tags import LocaleError, canonical_locale
from registry.workers import run_cpu_bound

log = logging.getLogger("registry.dependencies")
T = TypeVar("T")

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SessionKind(Enum):
    """Whether a route's session reads only or writes, as its endpoint declares it with
    :data:`ReadSession` or :data:`WriteSession`."""

    READ = "read"
    WRITE = "write"


_KIND = "registry_session_kind"


def _writes(request: Request) -> bool:
    """Whether the request's session writes: as the route's endpoint declares; a route
    whose endpoint declares no session (a dependency's, such as the key check) writes
    unless its method only reads."""
    route = request.scope.get("route")
    kind = getattr(route, _KIND, None)
    if kind is None and route is not None:
        kind = declared_session(getattr(route, "endpoint", None))
        setattr(route, _KIND, kind or False)
    if not kind:
        return request.method not in _READ_METHODS
    return bool(kind is SessionKind.WRITE)


def declared_session(endpoint: Any) -> SessionKind | None:
    """The session kind an endpoint's parameters declare, if any."""
    if endpoint is None:
        return None
    kinds = {
        argument
        for hint in get_type_hints(endpoint, include_extras=True).values()
        if get_origin(hint) is Annotated
        for argument in get_args(hint)[1:]
        if isinstance(argument, SessionKind)
    }
    if len(kinds) > 1:
        raise TypeError(f"{endpoint.__qualname__} declares a read and a write session")
    return next(iter(kinds), None)


# What a request runs once its session has given its connection back: a read's record
# of its key's use, which writes, so must not wait for a second connection while the
# read still holds its first.
AFTER_CLOSE = "registry.after_close"

# Worker threads and pooled connections kept for work outside a request's session: the
# readiness probe, exposures written after a response.
THREAD_RESERVE = 4
CONNECTION_RESERVE = 3


def _session_slots(request: Request) -> anyio.Semaphore:
    """How many requests may hold a session at once, so each can always finish.

    A request runs on up to three worker threads in turn (the key's check, the route, the
    commit; two where the route checks the key itself, see ``registry.routing``), holding
    its transaction (on SQLite the write lock, on PostgreSQL the prompt's
    row lock) in between. Were every worker thread and pooled connection taken by requests
    waiting for that lock, the request holding it could not get a thread to commit: all
    would wait until the busy timeout and answer 503. Fewer sessions than threads and
    connections, and the others wait for a slot without holding either.
    """
    app = request.app
    slots: anyio.Semaphore | None = getattr(app.state, "session_slots", None)
    if slots is None:
        db: Database = app.state.db
        count = anyio.to_thread.current_default_thread_limiter().total_tokens - THREAD_RESERVE
        connections = db.max_connections
        if connections is not None:
            count = min(count, connections - CONNECTION_RESERVE)
        slots = anyio.Semaphore(max(1, int(count)))
        app.state.session_slots = slots
    return slots


# The request session's pending end (commit, close, then what waited for the
# connection), kept on the session until it runs.
_FINISH = "registry.finish"


def _finish(
    scope: AbstractContextManager[Session], session: Session, exc: BaseException | None
) -> None:
    """Commit (or roll back, after ``exc``), then run what waited for the connection."""
    session.info.pop(_FINISH, None)
    if exc is None:
        scope.__exit__(None, None, None)
    else:
        scope.__exit__(type(exc), exc, exc.__traceback__)
    for after in session.info.pop(AFTER_CLOSE, ()):
        after()


def finish_session(session: Session) -> None:
    """Commit and close a request's session now, in the calling worker thread. Blocking.

    A route's worker thread calls this once the route's code has returned (see
    ``registry.routing``), so the commit costs no trip of its own to the thread pool,
    and on SQLite the write lock is given back without waiting for the event loop to
    schedule that trip. A session that is not a request's, or has ended, is left alone.
    """
    finish = session.info.get(_FINISH)
    if finish is not None:
        finish(None)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed before the response is sent.

    Async so that opening the session (no I/O until the first query) costs no trip to
    the thread pool. The commit, which does I/O, runs in the route's own worker thread
    when its route ends the session there (:func:`finish_session`), else in a trip of its
    own. Its route declares whether it writes (:data:`WriteSession`) or only reads
    (:data:`ReadSession`): on SQLite a writing transaction takes the one write lock,
    which would queue every lint behind every other.
    """
    async with _session_slots(request):
        db: Database = request.app.state.db
        scope = db.session(write=_writes(request))
        session = scope.__enter__()
        session.info[_FINISH] = partial(_finish, scope, session)
        try:
            yield session
        except BaseException as exc:
            if _FINISH in session.info:
                await run_in_threadpool(_finish, scope, session, exc)
            raise
        else:
            if _FINISH in session.info:
                await run_in_threadpool(_finish, scope, session, None)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `registry keys create` or `POST /v1/keys`.",
)


# Records a key's use: (the request's session, key id, when it was last recorded).
KeyToucher = Callable[[Session, int, datetime | None], None]


async def get_key_toucher(request: Request) -> KeyToucher:
    """How a key's last use is recorded.

    A write request records it in its own transaction: on SQLite a second writer would
    wait for the lock the request holds. A read records it in a short commit of its own,
    once its session has been closed, so it never holds two connections.
    """
    if _writes(request):
        return lambda session, key_id, last: keys.touch(lambda: nullcontext(session), key_id, last)
    return _touch_after_close(request.app.state.db)


def _touch_after_close(db: Database) -> KeyToucher:
    def after_close(session: Session, key_id: int, last: datetime | None) -> None:
        session.info.setdefault(AFTER_CLOSE, []).append(
            partial(keys.touch, db.session, key_id, last)
        )

    return after_close


class RequestKey:
    """The request's bearer key, well formed, to be checked against the store once.

    The check (one indexed lookup and a salted hash, the key's last use recorded, the
    principal made the actor of the session's audit events) runs in a worker thread, on
    the request's session: in the route's own thread when its route checks keys there
    (:class:`registry.routing.KeyCheckingRoute`), else in one of its own. It is never
    remembered beyond the request, so a revoked or expired key is refused by every
    process on its next request.
    """

    def __init__(self, session: Session, token: str, touch: KeyToucher) -> None:
        self._session = session
        self._token = token
        self._touch = touch
        self._principal: Principal | None = None

    def principal(self) -> Principal:
        """Who the key acts as; 401 if it is unknown, revoked or expired. Blocking."""
        if self._principal is None:
            checked = keys.check_token(self._session, self._token)
            principal = checked.principal
            if principal.key_id is not None:
                self._touch(self._session, principal.key_id, checked.last_used_at)
            audit.act_as(self._session, principal)
            self._principal = principal
        return self._principal


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The request's bearer token, well formed; 401 without one, or with a malformed one.
    Without I/O."""
    if credentials is None:
        raise Unauthorized(
            _("this request needs an API key: send Authorization: Bearer <key>"),
        )
    keys.parse_token(credentials.credentials)
    return credentials.credentials


def authenticate(
    session: Session, credentials: HTTPAuthorizationCredentials | None, touch: KeyToucher
) -> RequestKey:
    """The request's bearer key; 401 at once without one, or with a malformed one.

    Without I/O: the lookup is :meth:`RequestKey.principal`.
    """
    return RequestKey(session, bearer_token(credentials), touch)


class Access:
    """A route's access check, pending: the key's, then the permission and the scope.

    A route that checks keys in its own thread receives this in place of the principal
    and calls :meth:`check` before its code runs.
    """

    def __init__(
        self, key: RequestKey, permission: Permission, path_params: dict[str, Any]
    ) -> None:
        self._key = key
        self._permission = permission
        self._path_params = path_params

    def check(self) -> Principal:
        """The principal, once it holds the permission for this path. Blocking."""
        return permitted(self._key.principal(), self._permission, self._path_params)


def permitted(
    principal: Principal, permission: Permission, path_params: dict[str, Any]
) -> Principal:
    """``principal``, if it holds ``permission`` for the prompt (its folder) and the
    locale the path names; else 403."""
    principal.require(permission)
    name = path_params.get("name")
    if name is not None:
        principal.require_scope(name, change=permission is not Permission.READ)
    locale = path_params.get("locale")
    if permission is Permission.TRANSLATE and locale is not None:
        # A bad tag is reported by the route with its own 422.
        with suppress(LocaleError):
            canonical = canonical_locale(locale)
            principal.require_locale(canonical)
    return principal


async def optional_key(
    request: Request,
    session: Annotated[Session, Depends(get_session, scope="function")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    touch: Annotated[KeyToucher, Depends(get_key_toucher)],
) -> Callable[[Permission], Principal]:
    """For a route that asks for a key only sometimes (``GET /metrics``): a function
    giving the principal once it holds a permission, by the same check as
    :func:`requires`. Blocking: call it in a worker thread."""

    def check(permission: Permission) -> Principal:
        key = authenticate(session, credentials, touch)
        return Access(key, permission, request.path_params).check()

    return check


# Set on a route whose endpoint runs :meth:`Access.check` in its own worker thread.
CHECKS_KEY_IN_ROUTE = "checks_key_in_route"


def requires(permission: Permission) -> Any:
    """A dependency giving the request's principal once it holds ``permission``.

    A prompt named in the path must lie in the key's folder; a locale in the path of a
    translation write must be one the key may translate. The permission is kept on the
    dependency so a test can check that every route declares one.

    A missing or malformed key is refused before anything else. Checking the key needs
    the store: a route that does it in its own worker thread gets the pending
    :class:`Access` (one trip to the thread pool per request instead of two); any other
    route gets the principal checked in a worker thread of its own. Either way the
    check runs before the route's code.
    """

    # One dependency with its three inputs, not a chain: FastAPI's cost is per dependency.
    async def check(
        request: Request,
        session: Annotated[Session, Depends(get_session, scope="function")],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        touch: Annotated[KeyToucher, Depends(get_key_toucher)],
    ) -> Principal:
        access = Access(authenticate(session, credentials, touch), permission, request.path_params)
        if getattr(request.scope.get("route"), CHECKS_KEY_IN_ROUTE, False):
            return access  # type: ignore[return-value]  # checked by the route's endpoint
        return await run_in_threadpool(access.check)

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


class Serving:
    """A read the route serves itself, from a kept answer when it can.

    The serving routes (resolve, render) answer most requests from what the process kept
    (see ``registry.prompts.kept``). Such an answer needs two indexed reads, the key's and
    the revisions it was read from: :meth:`kept` makes them on single-statement reads
    (``Database.reads``), on the event loop where a read never waits (a SQLite file in
    WAL mode), else in one worker thread. Anything else, :meth:`run` answers in one
    worker thread, in the request's read transaction. Either way the key is checked the
    same way as on every route (``keys.check_token``, then :func:`permitted`), before the
    route's work; it is never remembered beyond the request.
    """

    def __init__(self, request: Request, permission: Permission, token: str) -> None:
        self._request = request
        self._permission = permission
        self._token = token
        self.db: Database = request.app.state.db
        self.settings: Settings = request.app.state.settings
        # The principal once :meth:`kept` has checked the key, with no use to record.
        self._checked: Principal | None = None

    async def kept(self, work: Callable[[Reads, Principal], T | None]) -> T | None:
        """``work(reads, principal)`` once the key is checked on single-statement reads;
        a refused key raises its error. None, without ``work``, where the request needs
        more: the key's use is due to be recorded, or a read failed (:meth:`run` then
        meets and reports the failure)."""
        if self.db.reads_wait:
            return await run_in_threadpool(self._kept, work)
        return self._kept(work)

    def _kept(self, work: Callable[[Reads, Principal], T | None]) -> T | None:
        try:
            with self.db.reads() as reads:
                checked = keys.check_token(reads, self._token)
                if keys.use_to_record(checked.last_used_at):
                    return None
                principal = permitted(
                    checked.principal, self._permission, self._request.path_params
                )
                self._checked = principal
                return work(reads, principal)
        except DBAPIError as exc:
            log.info("a kept answer could not be checked; answering in a session: %s", exc)
            return None

    async def run(self, work: Callable[[Session, Principal], T], *, cpu_bound: bool = False) -> T:
        """``work(session, principal)`` in one worker thread (one of the CPU-bound slots
        if ``cpu_bound``), in a read transaction, once the key is checked in it (unless
        :meth:`kept` checked it already). Blocking work off the event loop; the key's use
        is recorded after the session closes."""
        async with _session_slots(self._request):
            call = partial(self._run, work)
            if cpu_bound:
                return await run_cpu_bound(call)
            return await run_in_threadpool(call)

    def _run(self, work: Callable[[Session, Principal], T]) -> T:
        with self.db.session(write=False) as session:
            principal = self._checked
            if principal is None:
                key = RequestKey(session, self._token, _touch_after_close(self.db))
                principal = Access(key, self._permission, self._request.path_params).check()
            result = work(session, principal)
        for then in session.info.pop(AFTER_CLOSE, ()):
            then()
        return result


# How a serving route's OpenAPI operation says it takes the bearer key (``openapi_extra``).
SERVING_SECURITY: dict[str, Any] = {"security": [{"HTTPBearer": []}]}


def serves(permission: Permission) -> Any:
    """A dependency giving a :class:`Serving` for the request's key, to hold
    ``permission``; 401 at once without a key, or with a malformed one. Declared like
    :func:`requires` (a test checks that every route declares a permission)."""

    # The key is read by the same ``HTTPBearer`` as on every route, called here rather
    # than declared: FastAPI's cost is per dependency, and these routes answer most
    # requests. Their OpenAPI operation names the scheme (``SERVING_SECURITY``).
    async def serving(request: Request) -> Serving:
        return Serving(request, permission, bearer_token(await _bearer(request)))

    serving.permission = permission  # type: ignore[attr-defined]
    return Depends(serving)


def declared_permission(route: APIRoute) -> Permission | None:
    """The permission a route declares with :func:`requires`, if any."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        permission = getattr(dependant.call, "permission", None)
        if isinstance(permission, Permission):
            return permission
        pending.extend(dependant.dependencies)
    return None


# "function" scope: the commit happens before the response goes out, so a client never
# sees success for a write that failed to commit. An endpoint declares which it takes:
ReadSession = Annotated[Session, Depends(get_session, scope="function"), SessionKind.READ]
WriteSession = Annotated[Session, Depends(get_session, scope="function"), SessionKind.WRITE]
# The request's session, for a dependency: read or write as its route declares.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ReadAccess = Annotated[Principal, requires(Permission.READ)]
TranslateAccess = Annotated[Principal, requires(Permission.TRANSLATE)]
PublishAccess = Annotated[Principal, requires(Permission.PUBLISH)]
ReviewAccess = Annotated[Principal, requires(Permission.REVIEW)]
AdminAccess = Annotated[Principal, requires(Permission.ADMIN)]
ServingRead = Annotated[Serving, serves(Permission.READ)]
