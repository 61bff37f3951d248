"""FastAPI dependencies every router shares."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import nullcontext, suppress
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from registry.access import audit, keys
from registry.access.roles import Permission, Principal
from registry.config import Settings
from registry.db import Database
from registry.errors import Unauthorized
from registry.i18n.locales import LocaleError, canonical_locale
from registry.i18n.messages import _

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_POSTS = ("/-/render", "/v1/lint")


def _writes(request: Request) -> bool:
    return request.method not in _READ_METHODS and not request.url.path.endswith(READ_ONLY_POSTS)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed before the response is sent.

    Async so that opening the session (no I/O until the first query) costs no trip to
    the thread pool; the commit, which does I/O, runs there. POST routes that only read
    (render, lint) are listed in ``READ_ONLY_POSTS``: on SQLite a writing transaction
    takes the one write lock, which would queue every render behind every other.
    """
    db: Database = request.app.state.db
    scope = db.session(write=_writes(request))
    session = scope.__enter__()
    try:
        yield session
    except BaseException as exc:
        await run_in_threadpool(scope.__exit__, type(exc), exc, exc.__traceback__)
        raise
    else:
        await run_in_threadpool(scope.__exit__, None, None, None)


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
    wait for the lock the request holds. A read records it in a short commit of its own.
    """
    if _writes(request):
        return lambda session, key_id, last: keys.touch(lambda: nullcontext(session), key_id, last)
    db: Database = request.app.state.db
    return lambda _session, key_id, last: keys.touch(db.session, key_id, last)


def authenticate(
    session: Annotated[Session, Depends(get_session, scope="function")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    touch: Annotated[KeyToucher, Depends(get_key_toucher)],
) -> Principal:
    """The principal of the request's bearer key; 401 without a valid one.

    The principal becomes the actor of the session's audit events.
    """
    if credentials is None:
        raise Unauthorized(
            _("this request needs an API key: send Authorization: Bearer <key>"),
        )
    checked = keys.check_token(session, credentials.credentials)
    principal = checked.principal
    if principal.key_id is not None:
        touch(session, principal.key_id, checked.last_used_at)
    audit.act_as(session, principal)
    return principal


def requires(permission: Permission) -> Any:
    """A dependency giving the request's principal once it holds ``permission``.

    A prompt named in the path must lie in the key's folder; a locale in the path of a
    translation write must be one the key may translate. The permission is kept on the
    dependency so a test can check that every route declares one.
    """

    async def check(
        request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        principal.require(permission)
        name = request.path_params.get("name")
        if name is not None:
            principal.require_scope(name)
        locale = request.path_params.get("locale")
        if permission is Permission.TRANSLATE and locale is not None:
            # A bad tag is reported by the route with its own 422.
            with suppress(LocaleError):
                canonical = canonical_locale(locale)
                principal.require_locale(canonical)
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


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
# sees success for a write that failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ReadAccess = Annotated[Principal, requires(Permission.READ)]
TranslateAccess = Annotated[Principal, requires(Permission.TRANSLATE)]
PublishAccess = Annotated[Principal, requires(Permission.PUBLISH)]
ReviewAccess = Annotated[Principal, requires(Permission.REVIEW)]
AdminAccess = Annotated[Principal, requires(Permission.ADMIN)]
