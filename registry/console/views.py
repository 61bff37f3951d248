"""How console pages are rendered: templates, the viewer's language, errors as HTML.

Every console route uses :class:`ConsoleRoute`: whatever a page's code raises (a
refusal of the domain services, a form that does not validate, the store being busy) is
shown as an HTML page, or as a fragment to an htmx request, with the same message the
API would give; never problem+json, never a bare 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from registry import __version__
from registry.errors import Conflict, ErrorItem, InvalidInput, RegistryError
from registry.health import database_unavailable
from registry.locales.messages import (
    N_,
    _,
    _n,
    available_locales,
    current_locale,
    request_locale,
    use_locale,
)
from registry.locales.tags import to_bcp47
from registry.prompts.models import ImmutableVersionError

log = logging.getLogger("registry.console")

PREFIX = "/console"
# The viewer's choice of language, which wins over the browser's Accept-Language.
LANGUAGE_COOKIE = "registry_console_lang"


# ---------------------------------------------------------------- language


def console_locale(request: Request) -> str:
    """The language a page is shown in: the viewer's choice, else the browser's."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in available_locales():
        return str(chosen)
    return request_locale(request.headers.get("accept-language"))


@lru_cache(maxsize=16)
def language_name(locale: str) -> str:
    """A language's name in itself ("Français", "日本語"), as a switcher lists it."""
    name: str = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]


def _static_url(path: str) -> str:
    """A static file's address, changing with each release so browsers fetch it anew."""
    return f"{PREFIX}/static/{path}?v={__version__}"


def _datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return str(format_datetime(value, "medium", tzinfo=None, locale=current_locale()))


def _number(value: int | float) -> str:
    return str(format_decimal(value, locale=current_locale()))


# Words the templates translate from values (``_(finding.level)``, ``_(role)``).
VALUE_WORDS = (
    N_("error"),
    N_("warning"),
    N_("suggestion"),
    N_("reader"),
    N_("translator"),
    N_("editor"),
    N_("reviewer"),
    N_("admin"),
)


# ---------------------------------------------------------------- navigation


@dataclass(frozen=True)
class NavItem:
    """A link of the console's navigation, shown to keys that hold ``permission``."""

    path: str
    label: str  # marked with N_, translated when shown
    permission: str
    last: bool = False


# Each area adds its own entry where its router is defined (see ``add_nav``).
NAV: list[NavItem] = []


def add_nav(path: str, label: str, permission: str, *, last: bool = False) -> None:
    """List an area in the navigation: ``add_nav("/prompts", N_("Prompts"), "read")``;
    ``last`` keeps it after the others, whichever module is imported first."""
    NAV.append(NavItem(path=PREFIX + path, label=label, permission=permission, last=last))
    NAV.sort(key=lambda item: item.last)


# ---------------------------------------------------------------- templates


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("registry.console", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # The registry's own catalogs, in the locale of the request being rendered: messages
    # are written `_("… {name} …").format(name=…)` as in the Python code.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: _(message),
        ngettext=lambda singular, plural, n: _n(singular, plural, n),
        newstyle=False,
    )
    env.globals["_n"] = _n
    env.globals["nav"] = NAV
    env.globals["static"] = _static_url
    env.globals["language_name"] = language_name
    env.filters["datetime"] = _datetime
    env.filters["number"] = _number
    env.filters["bcp47"] = to_bcp47
    return env


templates = _environment()


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page (or fragment) in the current locale.

    Every template sees ``request``, ``viewer`` (None when signed out), ``csrf_token``
    for its forms, ``locale`` and ``languages`` for the switcher, and ``path``.
    """
    from registry.console.auth import page_csrf_token

    viewer = getattr(request.state, "console_viewer", None)
    token, new_cookie = page_csrf_token(request, viewer)
    values = {
        "request": request,
        "viewer": viewer,
        "csrf_token": token,
        "locale": current_locale(),
        "languages": available_locales(),
        "path": request.url.path,
        "query": str(request.url.query),
        **(context or {}),
    }
    html = templates.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["Content-Language"] = to_bcp47(current_locale())
    response.headers["Cache-Control"] = "no-store"
    if new_cookie is not None:
        new_cookie(response)
    return response


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def redirect(url: str, request: Request | None = None) -> Response:
    """A redirect after a form (303), or for an htmx request the header htmx follows."""
    if request is not None and is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- errors


class SignInNeeded(Exception):
    """No console session, or one that ended: the viewer is sent to sign in."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason


def error_of(exc: Exception) -> RegistryError | None:
    """The registry error the API would answer ``exc`` with; None for a bug."""
    if isinstance(exc, RegistryError):
        return exc
    if isinstance(exc, RequestValidationError):
        return _form_error(exc)
    if isinstance(exc, ImmutableVersionError):
        return Conflict(str(exc))
    if isinstance(exc, IntegrityError):
        return Conflict(_("the change clashes with a concurrent change; read again and retry"))
    if isinstance(exc, SQLAlchemyTimeoutError | DBAPIError):
        return database_unavailable(exc)
    return None


def _form_error(exc: RequestValidationError) -> RegistryError:
    items = []
    for err in exc.errors()[:20]:
        loc = tuple(err.get("loc", ()))
        field = str(loc[-1]) if loc else "?"
        if err.get("type") == "missing":
            message = _("{field} is required").format(field=field)
        else:
            message = _("{field} is not valid").format(field=field)
        items.append(ErrorItem(loc=loc, message=message))
    return InvalidInput(_("the form is not complete or not valid"), items)


def error_response(request: Request, exc: Exception) -> Response:
    """The page (or, to htmx, the fragment) that tells the viewer what went wrong."""
    if isinstance(exc, SignInNeeded):
        return _to_sign_in(request)
    error = error_of(exc)
    if error is None:
        log.exception("unhandled error in the console", exc_info=exc)
        error = RegistryError(_("an unexpected error occurred; it has been logged"))
    elif error.status >= 500:
        log.warning("console: %s", error.detail)
    template = "error_fragment.html" if is_htmx(request) else "error.html"
    try:
        return render(
            request,
            template,
            {"error": error, "title": _(error.title)},
            status_code=error.status,
            headers={k: v for k, v in error.headers.items() if k.lower() == "retry-after"},
        )
    except Exception:  # a template that fails here must not hide the first error
        log.exception("the console's error page failed")
        return HTMLResponse(
            f"<!doctype html><title>{error.status}</title><p>{error.status}</p>",
            status_code=error.status,
        )


def _to_sign_in(request: Request) -> Response:
    from urllib.parse import quote

    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET" or is_htmx(request):
        target = request.headers.get("hx-current-url") or PREFIX
    url = f"{PREFIX}/sign-in?next={quote(target, safe='/')}"
    return redirect(url, request)


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """A console route: anything its code raises becomes an HTML page for the viewer."""

    def get_route_handler(self) -> Endpoint:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            # Set here, the locale reaches the route's worker thread with the context.
            with use_locale(console_locale(request)):
                try:
                    return await handler(request)
                except Exception as exc:
                    return error_response(request, exc)

        return handle
