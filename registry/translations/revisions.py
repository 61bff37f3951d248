"""A translation's history: every change of text or status kept as a revision, and every
translation of a version carried forward to the next version when it is published.

Imports only the tables, so the prompts service can call it without a cycle.
"""

from __future__ import annotations

from typing import Protocol, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from registry.translations.lookup import VersionText, source_roles, source_texts
from registry.translations.models import Translation, TranslationRevision
from registry.translations.schemas import TranslationStatus


class PublishedVersion(VersionText, Protocol):
    @property
    def id(self) -> int: ...

    @property
    def prompt_id(self) -> int: ...

    @property
    def number(self) -> int: ...


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


_TRANSLATIONS = Translation.__table__.c

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
