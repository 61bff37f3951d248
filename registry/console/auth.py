"""Signing in to the console with an API key, its sessions, and CSRF protection.

A key's token is typed once into the sign-in form and exchanged for a session: a random
id in an HttpOnly, SameSite=Strict cookie (Secure over https), stored only as a hash in
``console_sessions`` with the key's id, its expiry and a CSRF secret. Every request looks
the session and its key up again, so revoking the key, or its expiry, ends the session
at once in every process, as it refuses the key at the API.

Every POST carries the session's CSRF token: forms in a hidden field, htmx in the
``X-CSRF-Token`` header. Before signing in (the sign-in form itself, the language
switcher) the token is a random value also kept in a cookie of its own, and the two
must match.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from sqlalchemy import delete
from sqlalchemy.orm import Session

from registry.access import audit, keys
from registry.access.roles import Permission, Principal
from registry.config import Settings
from registry.console.models import ConsoleSession
from registry.console.views import (
    LANGUAGE_COOKIE,
    PREFIX,
    ConsoleRoute,
    SignInNeeded,
    redirect,
    render,
)
from registry.db import utcnow
from registry.dependencies import (
    KeyToucher,
    ReadSession,
    SessionDep,
    SettingsDep,
    WriteSession,
    get_key_toucher,
)
from registry.errors import Forbidden, Unauthorized
from registry.locales.messages import _, available_locales

SESSION_COOKIE = "registry_console"
# The CSRF token of a browser that has not signed in yet.
PRESESSION_COOKIE = "registry_console_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Viewer:
    """Who is signed in: the key's principal and the session's CSRF token."""

    principal: Principal
    csrf_token: str

    def can(self, permission: Permission | str) -> bool:
        return self.principal.can(Permission(permission))


def https(request: Request, settings: Settings) -> bool:
    """Whether the browser reached us over TLS: directly, or through a trusted proxy."""
    if request.url.scheme == "https":
        return True
    if settings.trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-proto", "")
        return forwarded.split(",")[0].strip().lower() == "https"
    return False


def _set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=https(request, request.app.state.settings),
    )


def _forget_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=https(request, request.app.state.settings),
    )


def page_csrf_token(
    request: Request, viewer: Viewer | None
) -> tuple[str, Callable[[Response], None] | None]:
    """The token a page's forms carry, and how to set the cookie it needs (if any)."""
    if viewer is not None:
        return viewer.csrf_token, None
    token = request.cookies.get(PRESESSION_COOKIE)
    if token:
        return token, None
    token = secrets.token_urlsafe(32)
    request.cookies[PRESESSION_COOKIE] = token  # the same token for the rest of the request

    def set_cookie(response: Response) -> None:
        _set_cookie(response, request, PRESESSION_COOKIE, token, max_age=None)

    return token, set_cookie


async def sent_csrf_token(request: Request) -> str | None:
    """The CSRF token a POST carries: the htmx header, else the form's field."""
    if request.method != "POST":
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def _csrf_refused() -> Forbidden:
    return Forbidden(
        _(
            "the form was refused because its security token is missing or out of date; "
            "reload the page and send it again"
        )
    )


def _check_csrf(expected: str, sent: str | None) -> None:
    if sent is None or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise _csrf_refused()


SentToken = Annotated[str | None, Depends(sent_csrf_token)]


def find_viewer(
    request: Request, session: Session, touch: KeyToucher | None = None
) -> Viewer | None:
    """The signed-in viewer of this request, or None. Blocking (two indexed reads)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    row = session.get(ConsoleSession, _hash(cookie))
    if row is None or row.expires_at <= utcnow():
        return None
    try:
        checked = keys.check_key_id(session, row.key_id)
    except Unauthorized:
        return None
    principal = checked.principal
    if touch is not None:
        touch(session, row.key_id, checked.last_used_at)
    audit.act_as(session, principal)
    viewer = Viewer(principal=principal, csrf_token=row.csrf_secret)
    request.state.console_viewer = viewer
    return viewer


def signed_in(
    request: Request,
    session: SessionDep,
    touch: Annotated[KeyToucher, Depends(get_key_toucher)],
    sent: SentToken,
) -> Viewer:
    """The signed-in viewer; a POST must carry the session's CSRF token.

    Sync, so FastAPI runs its reads in a worker thread, not on the event loop.
    """
    viewer = find_viewer(request, session, touch)
    if viewer is None:
        raise SignInNeeded()
    if request.method == "POST":
        _check_csrf(viewer.csrf_token, sent)
    return viewer


def optional_viewer(request: Request, session: SessionDep) -> Viewer | None:
    """The signed-in viewer if there is one (pages anyone may see: sign-in)."""
    return find_viewer(request, session)


ViewerDep = Annotated[Viewer, Depends(signed_in)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page of this site, never another site."""
    if not target:
        return PREFIX
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(PREFIX) or "\\" in target:
        return PREFIX
    return target


# ---------------------------------------------------------------- routes

router = APIRouter(route_class=ConsoleRoute)


NextPage = Annotated[str, Form(alias="next", max_length=2000)]


@router.get("/sign-in")
def sign_in_page(
    request: Request,
    session: ReadSession,
    next_page: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> Response:
    """The sign-in form; a viewer already signed in goes on."""
    if find_viewer(request, session) is not None:
        return redirect(safe_next(next_page))
    return render(request, "auth/sign_in.html", {"next": safe_next(next_page), "failure": None})


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: WriteSession,
    settings: SettingsDep,
    sent: SentToken,
    touch: Annotated[KeyToucher, Depends(get_key_toucher)],
    token: Annotated[str, Form(max_length=200)] = "",
    next_page: NextPage = PREFIX,
) -> Response:
    """Exchange an API key for a console session."""
    _check_csrf(request.cookies.get(PRESESSION_COOKIE) or "", sent)
    try:
        if not token.strip():
            raise Unauthorized(_("type the API key you were given, rk_…"))
        checked = keys.check_token(session, token)
    except Unauthorized as exc:
        return render(
            request,
            "auth/sign_in.html",
            {"next": safe_next(next_page), "failure": exc.detail},
            status_code=401,
        )
    principal = checked.principal
    assert principal.key_id is not None  # a stored key always has one
    now = utcnow()
    # Sessions that ended are forgotten whenever someone signs in.
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    session_id = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id_hash=_hash(session_id),
            key_id=principal.key_id,
            csrf_secret=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=settings.console_session_hours),
        )
    )
    touch(session, principal.key_id, checked.last_used_at)
    response = redirect(safe_next(next_page))
    max_age = int(settings.console_session_hours * 3600)
    _set_cookie(response, request, SESSION_COOKIE, session_id, max_age=max_age)
    _forget_cookie(response, request, PRESESSION_COOKIE)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: WriteSession, viewer: ViewerDep) -> Response:
    """End the session: its row is deleted, so the cookie opens nothing any more."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _hash(cookie)))
    response = redirect(f"{PREFIX}/sign-in", request)
    _forget_cookie(response, request, SESSION_COOKIE)
    return response


@router.post("/language")
def choose_language(
    request: Request,
    session: WriteSession,
    sent: SentToken,
    language: Annotated[str, Form(max_length=35)],
    next_page: NextPage = PREFIX,
) -> Response:
    """Show the console in another language from now on (a cookie)."""
    viewer = find_viewer(request, session)
    expected = viewer.csrf_token if viewer else request.cookies.get(PRESESSION_COOKIE) or ""
    _check_csrf(expected, sent)
    response = redirect(safe_next(next_page))
    if language in available_locales():
        _set_cookie(response, request, LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600)
    return response
