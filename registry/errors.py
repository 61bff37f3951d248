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
│   └── StyleViolation    422  the style guide finds errors; `findings` lists them
└── Unavailable           503  the store is busy; retry after a moment

A problem lists at most ``MAX_LISTED`` items in ``errors`` (and style findings in
``findings``) and says how many more there were (``errors_omitted``,
``findings_omitted``): one request can be wrong in tens of thousands of places, and an
answer of megabytes helps nobody fix it.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from registry.locales.messages import N_, _, _n

# Items a problem lists in ``errors``, findings in ``findings``.
MAX_LISTED = 100
# Messages a ``detail`` quotes before saying how many more there are.
MAX_SUMMARIZED = 5
# Characters of a ``detail``, in case one was built from more than a few messages.
MAX_DETAIL_CHARS = 10_000
# Style levels, most severe first: when findings are cut, the errors are kept.
LEVELS = ("error", "warning", "suggestion")


def summarize(messages: Sequence[str], *, total: int | None = None) -> str:
    """The first few ``messages`` joined for a ``detail``, and how many more there are:
    ``total`` when the caller gave only the first of them."""
    shown = "; ".join(messages[:MAX_SUMMARIZED])
    more = (len(messages) if total is None else total) - MAX_SUMMARIZED
    if more <= 0:
        return shown
    return _n("{problems}; and {count} more", "{problems}; and {count} more", more).format(
        problems=shown, count=more
    )


def most_severe(levels: Sequence[str]) -> list[int]:
    """The positions of at most ``MAX_LISTED`` findings of the given ``levels``: errors
    first, then warnings, then suggestions, each in order; returned in document order."""
    if len(levels) <= MAX_LISTED:
        return list(range(len(levels)))
    rank = {level: i for i, level in enumerate(LEVELS)}
    chosen = heapq.nsmallest(
        MAX_LISTED, range(len(levels)), key=lambda i: (rank.get(levels[i], len(LEVELS)), i)
    )
    return sorted(chosen)


def count_levels(levels: Sequence[str]) -> dict[str, int]:
    """How many findings there are of each level, every level named."""
    counts = dict.fromkeys(LEVELS, 0)
    for level in levels:
        counts[level] = counts.get(level, 0) + 1
    return counts


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
    # RFC 9457 extension members, e.g. the style findings of a refused publish.
    extensions: dict[str, Any] = field(default_factory=dict)
    # Items the raiser did not even build (it kept the first ``MAX_LISTED``), on top of
    # those of ``errors`` beyond ``MAX_LISTED``.
    errors_omitted: int = 0

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
        """The RFC 9457 body; ``errors`` lists at most ``MAX_LISTED`` items, and ``detail``
        is at most ``MAX_DETAIL_CHARS`` long (plus a note on the items left out)."""
        listed = self.errors[:MAX_LISTED]
        omitted = self.errors_omitted + len(self.errors) - len(listed)
        detail = self.detail
        if len(detail) > MAX_DETAIL_CHARS:
            detail = detail[: MAX_DETAIL_CHARS - 1] + "…"
        body = {
            "type": f"/problems/{self.code}",
            "title": _(self.title),
            "status": self.status,
            "detail": detail,
            "errors": [e.as_dict() for e in listed],
            **self.extensions,
        }
        if omitted:
            note = _n(
                "errors lists the first {listed}; {count} more is left out",
                "errors lists the first {listed}; {count} more are left out",
                omitted,
            ).format(listed=len(listed), count=omitted)
            body.update(detail=f"{detail} ({note})", errors_omitted=omitted)
        return body


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
    """``extensions["findings"]`` holds every finding of the report (as JSON); the body
    lists the most severe ``MAX_LISTED`` of them and counts them all per level."""

    code = "style-violation"
    title = N_("The style guide refuses this text")

    def problem(self) -> dict[str, Any]:
        body = super().problem()
        findings = body.get("findings")
        if isinstance(findings, list):
            levels = [str(finding.get("level")) for finding in findings]
            kept = most_severe(levels)
            body.update(
                findings=[findings[i] for i in kept],
                findings_omitted=len(findings) - len(kept),
                counts=count_levels(levels),
            )
        return body


class Unavailable(RegistryError):
    status = 503
    code = "unavailable"
    title = N_("Service unavailable")
