"""Which text of a version is served in a locale: approved translations, read in one query.

Imports only the tables, so the prompts service can call it without a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from registry.db import PreparedRead, in_list
from registry.locales.negotiation import LocaleMatch, candidate_locales, locale_match
from registry.translations.models import Translation
from registry.translations.schemas import TranslationStatus


class VersionText(Protocol):
    """What a version says: a mapped version, or a row of its table's columns."""

    @property
    def template(self) -> str | None: ...

    @property
    def messages(self) -> list[dict[str, str]] | None: ...


def source_texts(version: VersionText) -> list[str]:
    """The translatable texts of a version: its template, or each message's content."""
    if version.template is not None:
        return [version.template]
    return [m["content"] for m in version.messages or []]


def source_roles(version: VersionText) -> list[str] | None:
    """The message roles of a chat version; None for a text version."""
    if version.messages is None:
        return None
    return [m["role"] for m in version.messages]


def servable_statuses(*, allow_stale: bool = False, preview: bool = False) -> frozenset[str]:
    """Statuses a caller may be served: approved, plus approved text of an older source
    (stale) or unreviewed text on request."""
    statuses = {TranslationStatus.approved.value}
    if allow_stale:
        statuses.add(TranslationStatus.stale.value)
    if preview:
        statuses |= {TranslationStatus.draft.value, TranslationStatus.in_review.value}
    return frozenset(statuses)


@dataclass(frozen=True)
class Localized:
    """The texts served for a version, and which locale they are in."""

    texts: list[str]
    locale: str
    requested: str
    match: LocaleMatch
    status: str | None
    tag: str = field(compare=False)  # identifies exactly what was served, for ETags


@dataclass(frozen=True)
class Source:
    """What localizing needs to know of a version."""

    version_id: int
    source_locale: str
    texts: tuple[str, ...]


# Compiled once per number of versions, locales and statuses, and run on the session's
# DBAPI connection: every resolve reads it (see ``PreparedRead``).
_TRANSLATIONS = Translation.__table__.c
_SERVABLE_TRANSLATIONS = PreparedRead(
    lambda versions, locales, statuses: select(
        _TRANSLATIONS.version_id,
        _TRANSLATIONS.locale,
        _TRANSLATIONS.status,
        _TRANSLATIONS.texts,
        _TRANSLATIONS.approved_texts,
        _TRANSLATIONS.approved_stale,
        _TRANSLATIONS.revision,
    ).where(
        in_list(_TRANSLATIONS.version_id, "versions", versions),
        in_list(_TRANSLATIONS.locale, "locales", locales),
        or_(
            in_list(_TRANSLATIONS.status, "statuses", statuses),
            _TRANSLATIONS.approved_texts.is_not(None),
        ),
    ),
    "versions",
    "locales",
    "statuses",
)


def localize_all(
    session: Session,
    sources: Sequence[Source],
    requested: Sequence[str],
    statuses: Iterable[str],
) -> list[Localized]:
    """The best text of each version for the requested locales, in one query.

    Each version falls back through the CLDR chain of the requested locales to its own
    source locale; translations are read fresh every time (reviews change them).
    """
    statuses = frozenset(statuses)
    plans = [candidate_locales(requested, source.source_locale) for source in sources]
    wanted = {
        c
        for plan, source in zip(plans, sources, strict=True)
        for c in plan
        if c != source.source_locale
    }
    found: dict[tuple[int, str], Any] = {}
    if wanted:
        rows = _SERVABLE_TRANSLATIONS.rows(
            session,
            versions=sorted({source.version_id for source in sources}),
            locales=sorted(wanted),
            statuses=sorted(statuses),
        )
        found = {(row.version_id, row.locale): row for row in rows}
    return [
        _pick(source, plan, found, requested, statuses)
        for source, plan in zip(sources, plans, strict=True)
    ]


def _pick(
    source: Source,
    plan: list[str],
    found: dict[tuple[int, str], Any],
    requested: Sequence[str],
    statuses: frozenset[str],
) -> Localized:
    first = requested[0] if requested else source.source_locale
    for candidate in plan:
        if candidate == source.source_locale:
            match = locale_match(candidate, requested)
            return Localized(
                list(source.texts), candidate, first, match, None, f"{candidate}:source"
            )
        row = found.get((source.version_id, candidate))
        servable = None if row is None else _servable(row, statuses)
        if servable is None:
            continue
        texts, status, revision = servable
        # Version and locale identify the translation; its revision and the status of
        # the text served (approved, or a draft under preview), what it says now.
        tag = f"{candidate}:r{revision}:{status}"
        match = locale_match(candidate, requested)
        return Localized(texts, candidate, first, match, status, tag)
    raise AssertionError("candidate_locales always ends with the source locale")


_UNREVIEWED = frozenset({TranslationStatus.draft.value, TranslationStatus.in_review.value})


def _servable(row: Any, statuses: frozenset[str]) -> tuple[list[str], str, int] | None:
    """The texts of a translation a caller may be served, and their status; None if none.

    Only approved text is served: approved for the version's source, or with
    ``allow_stale`` for an older one. ``preview`` serves a draft or text in review.
    """
    if row.status in statuses and row.status in _UNREVIEWED:
        return list(row.texts), row.status, row.revision
    if row.approved_texts is None:
        return None
    status = TranslationStatus.stale if row.approved_stale else TranslationStatus.approved
    if status.value not in statuses:
        return None
    return list(row.approved_texts), status.value, row.revision
