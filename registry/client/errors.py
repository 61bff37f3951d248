"""Errors the SDK raises: one tree, a class per status family.

RegistryError                     any failure of a registry call or a local render
├── NotFoundError         404     no such prompt, version, label or translation
├── ValidationError       400/413/422  the request or the variables are wrong; see ``errors``
├── ConflictError         409     the change clashes with what is stored
├── AuthError             401/403 missing, wrong or insufficient API key
├── RateLimitError        429     too many requests (retried, honouring Retry-After)
├── ServerError           5xx     the registry failed (retried)
└── ConnectionError               no answer: refused, reset, DNS, TLS (retried)
    └── TimeoutError              no answer in time (retried)

A status with no family of its own (405, 406, …) raises ``RegistryError`` itself. Every
error from an answer carries the fields of its ``application/problem+json`` body; a local
render that fails raises the same ``ValidationError`` the server's ``render`` would.

These classes are the SDK's; ``registry.errors`` is the server's own tree, which the API
turns into the problem bodies these are built from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from registry.errors import ErrorItem

__all__ = [
    "AuthError",
    "ConflictError",
    "ConnectionError",
    "ErrorItem",
    "NotFoundError",
    "RateLimitError",
    "RegistryError",
    "ServerError",
    "TimeoutError",
    "ValidationError",
]


class RegistryError(Exception):
    """Base of every error the SDK raises."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        title: str = "",
        problem_type: str = "about:blank",
        errors: Sequence[ErrorItem] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.title = title
        self.problem_type = problem_type
        self.errors = list(errors)
        # Seconds the server asked the caller to wait (Retry-After), if it said.
        self.retry_after = retry_after

    def __str__(self) -> str:
        head = f"{self.status} {self.title}: " if self.status else ""
        return head + self.detail


class NotFoundError(RegistryError):
    """404: no such prompt, version, label or translation."""


class ValidationError(RegistryError):
    """400, 413 or 422: the request or the variable values are wrong; ``errors`` says where."""


class ConflictError(RegistryError):
    """409: the change clashes with what is stored."""


class AuthError(RegistryError):
    """401 or 403: the API key is missing, wrong or not allowed to do this."""


class RateLimitError(RegistryError):
    """429: too many requests."""


class ServerError(RegistryError):
    """5xx: the registry (or a proxy in front of it) failed."""


# Named like the builtins on purpose (the SDK's promised names); use them qualified.
class ConnectionError(RegistryError):
    """The registry gave no answer: connection refused or reset, DNS or TLS failure."""


class TimeoutError(ConnectionError):
    """The registry gave no answer in time."""


_BY_STATUS: dict[int, type[RegistryError]] = {
    400: ValidationError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    410: NotFoundError,
    413: ValidationError,
    415: ValidationError,
    422: ValidationError,
    429: RateLimitError,
}


def error_class(status: int) -> type[RegistryError]:
    """The class of the tree an HTTP status maps to."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, RegistryError)


def from_problem(
    status: int, problem: Mapping[str, Any], *, retry_after: float | None = None
) -> RegistryError:
    """The error for an ``application/problem+json`` body (RFC 9457)."""
    items = [_item(raw) for raw in problem.get("errors") or () if isinstance(raw, Mapping)]
    title = str(problem.get("title") or "")
    detail = str(problem.get("detail") or title or f"HTTP {status}")
    return error_class(status)(
        detail,
        status=status,
        title=title,
        problem_type=str(problem.get("type") or "about:blank"),
        errors=items,
        retry_after=retry_after,
    )


def _item(raw: Mapping[str, Any]) -> ErrorItem:
    loc = raw.get("loc")
    return ErrorItem(
        loc=tuple(loc) if isinstance(loc, list | tuple) else (),
        message=str(raw.get("message", "")),
        line=raw.get("line") if isinstance(raw.get("line"), int) else None,
        column=raw.get("column") if isinstance(raw.get("column"), int) else None,
    )
