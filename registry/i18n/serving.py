"""Which text of a version to serve in a locale, and carrying translations to new versions.

Imports only the tables, so the prompts service can call it without a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, or_, select
from sqlalchemy.orm import Session

from registry.db import PreparedRead, in_list
from registry.errors import ErrorItem, InvalidInput
from registry.i18n.locales import (
    LocaleError,
    canonical_locale,
    parse_accept_language,
    requested_locales,
)
from registry.i18n.messages import _
from registry.i18n.models import Translation, TranslationRevision
from registry.i18n.negotiation import candidate_locales, locale_match
from registry.i18n.schemas import TranslationStatus
from registry.prompts.schemas import LocaleMatch


class VersionText(Protocol):
    """What a version says: a mapped version, or a row of its table's columns."""

    @property
    def template(self) -> str | None: ...

    @property
    def messages(self) -> list[dict[str, str]] | None: ...


class PublishedVersion(VersionText, Protocol):
    @property
    def id(self) -> int: ...

    @property
    def prompt_id(self) -> int: ...

    @property
    def number(self) -> int: ...


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


def add_revision(
    translation: Translation, *, status: str, texts: list[str], author: str, note: str
) -> None:
    """Record a change of text or status as a new revision and make it current."""
    number = (translation.revision or 0) + 1
    translation.revision = number
    translation.status = status
    translation.texts = list(texts)
    translation.updated_by = author
    if status == TranslationStatus.approved.value:
        translation.approved_texts = list(texts)
        translation.approved_stale = False
    translation.revisions.append(
        TranslationRevision(
            number=number, status=status, texts=list(texts), note=note, author=author
        )
    )


# Publishing carries every translation forward: Core statements on the tables' columns,
# built once, so a publish pays for no ORM loading or unit of work here. Ordered by
# locale, the order of the (version_id, locale) index SQLite reads them in.
_TO_CARRY = (
    select(
        _TRANSLATIONS.locale,
        _TRANSLATIONS.status,
        _TRANSLATIONS.texts,
        _TRANSLATIONS.source_texts,
        _TRANSLATIONS.approved_texts,
        _TRANSLATIONS.approved_stale,
    )
    .where(_TRANSLATIONS.version_id == bindparam("version_id"))
    .order_by(_TRANSLATIONS.locale)
)
_INSERT_TRANSLATIONS = insert(cast(Table, Translation.__table__)).returning(
    _TRANSLATIONS.id, sort_by_parameter_order=True
)
_INSERT_REVISIONS = insert(cast(Table, TranslationRevision.__table__))


def carry_forward(
    session: Session, previous: PublishedVersion, new: PublishedVersion, *, author: str
) -> int:
    """Copy every translation of ``previous`` to ``new``: stale where the source changed.

    A copy keeps what the translator last wrote (to be reviewed against the new source)
    and, apart from it, the last approved text: still current if the source is unchanged,
    else of an older source, served only with ``allow_stale`` until text is approved
    for the new one. Each copy starts its own history, as :func:`add_revision` would write
    it: revision 1, noting the version it came from.
    """
    changed = source_texts(previous) != source_texts(new) or source_roles(previous) != source_roles(
        new
    )
    copies = []
    for old in session.execute(_TO_CARRY, {"version_id": previous.id}):
        approved = None if old.approved_texts is None else list(old.approved_texts)
        copies.append(
            {
                "prompt_id": new.prompt_id,
                "version_id": new.id,
                "locale": old.locale,
                "status": TranslationStatus.stale.value if changed else old.status,
                "texts": list(old.texts),
                "source_texts": list(old.source_texts),
                "approved_texts": approved,
                "approved_stale": approved is not None and (changed or old.approved_stale),
                "revision": 1,
                "updated_by": author,
            }
        )
    if not copies:
        return 0
    ids = session.scalars(_INSERT_TRANSLATIONS, copies).all()
    note = f"carried forward from version {previous.number}"
    session.execute(
        _INSERT_REVISIONS,
        [
            {
                "translation_id": translation_id,
                "number": 1,
                "status": copy["status"],
                "texts": copy["texts"],
                "note": note,
                "author": author,
            }
            for translation_id, copy in zip(ids, copies, strict=True)
        ],
    )
    return len(copies)


def parse_locale(tag: str, loc: tuple[str | int, ...]) -> str:
    """The canonical form of a locale the caller named, or a 422 that names it."""
    try:
        return canonical_locale(tag)
    except LocaleError as exc:
        # The reason is English unless registry.i18n.locales marks it for translation;
        # gettext("") would be the catalog's header, hence the guard.
        reason = _(exc.reason) if exc.reason else exc.reason
        if exc.suggestions:
            suggestions = ", ".join(exc.suggestions)
            detail = _("unknown locale {tag}; did you mean {suggestions}?").format(
                tag=repr(tag), suggestions=suggestions
            )
            # TRANSLATORS: {reason} says why a locale tag is refused.
            message = _("{reason}; did you mean {suggestions}?").format(
                reason=reason, suggestions=suggestions
            )
        else:
            detail = _("unknown locale {tag}").format(tag=repr(tag))
            message = reason
        raise InvalidInput(detail, [ErrorItem(loc=loc, message=message)]) from None


def requested_locales_from(locale: str | None, accept_language: str | None) -> list[str]:
    """The locales a request asks for: an explicit ``locale``, else ``Accept-Language``.

    Entries that are malformed or name no locale are skipped, as HTTP allows. ``*`` ends
    the list: any language will do from there, and the source locale, which every
    lookup ends with, serves it better than an arbitrary translation would.
    """
    if locale:
        return [parse_locale(locale, ("query", "locale"))]
    if not accept_language:
        return []
    ranges = [language_range for language_range, _q in parse_accept_language(accept_language)]
    if "*" in ranges:
        ranges = ranges[: ranges.index("*")]
    # The ranges are sorted best first and hold no "," or ";": written back as a header
    # of equal weights, they keep their order.
    return requested_locales(", ".join(ranges))
