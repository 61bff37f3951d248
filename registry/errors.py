"""The registry's error tree; the API turns each into ``application/problem+json``.

RegistryError
├── Unauthorized          401  no API key, or one that is unknown, revoked or expired
├── Forbidden             403  the key's role, folder or locales do not allow this
├── NotFound              404  no such prompt, version or label
├── Conflict              409  the request clashes with what is stored
├── PreconditionFailed    412  If-Match names a state that has changed since
├── PayloadTooLarge       413  request body over the configured limit
├── InvalidInput          422  a field, template or variable value is wrong
│   ├── InvalidTemplate   422  a template does not compile or breaks the sandbox
│   ├── RenderError       422  variables do not fit the declaration, or rendering failed
│   └── StyleViolation    422  the style guide finds errors; `findings` lists them all
└── Unavailable           503  the store is busy; retry after a moment
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from registry.i18n.messages import N_, _


@dataclass(frozen=True)
class ErrorItem:
    """One bad field, entry or span: where it is and what to change."""

    loc: tuple[str | int, ...]
    message: str
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used in a problem's ``errors[]``."""
        out: dict[str, Any] = {"loc": list(self.loc), "message": self.message}
        if self.line is not None:
            out["line"] = self.line
        if self.column is not None:
            out["column"] = self.column
        return out


@dataclass
class RegistryError(Exception):
    """Base of every error the registry reports to a caller.

    ``detail`` and the items' messages are translated where the error is raised (the
    locale is the request's); ``title`` is marked with ``N_`` and translated in
    :meth:`problem`.
    """

    detail: str
    errors: list[ErrorItem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    # RFC 9457 extension members, e.g. the full style findings of a refused publish.
    extensions: dict[str, Any] = field(default_factory=dict)

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = N_("Internal error")

    def __post_init__(self) -> None:
        """Subclasses add headers of their own here (e.g. ``WWW-Authenticate``).

        Defined on the base so that the ``__init__`` the dataclass generates calls it:
        it calls ``__post_init__`` only when the decorated class has one.
        """

    def __str__(self) -> str:
        return self.detail

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 body."""
        return {
            "type": f"/problems/{self.code}",
            "title": _(self.title),
            "status": self.status,
            "detail": self.detail,
            "errors": [e.as_dict() for e in self.errors],
            **self.extensions,
        }


class Unauthorized(RegistryError):
    status = 401
    code = "unauthorized"
    title = N_("Unauthorized")

    def __post_init__(self) -> None:
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="registry"')


class Forbidden(RegistryError):
    status = 403
    code = "forbidden"
    title = N_("Forbidden")


class NotFound(RegistryError):
    status = 404
    code = "not-found"
    title = N_("Not found")


class Conflict(RegistryError):
    status = 409
    code = "conflict"
    title = N_("Conflict")


class PreconditionFailed(RegistryError):
    status = 412
    code = "precondition-failed"
    title = N_("Precondition failed")


class PayloadTooLarge(RegistryError):
    status = 413
    code = "payload-too-large"
    title = N_("Request body too large")


class InvalidInput(RegistryError):
    status = 422
    code = "invalid-input"
    title = N_("Invalid input")


class InvalidTemplate(InvalidInput):
    code = "invalid-template"
    title = N_("Invalid template")


class RenderError(InvalidInput):
    code = "render-failed"
    title = N_("Render failed")


class StyleViolation(InvalidInput):
    code = "style-violation"
    title = N_("The style guide refuses this text")


class Unavailable(RegistryError):
    status = 503
    code = "unavailable"
    title = N_("Service unavailable")
