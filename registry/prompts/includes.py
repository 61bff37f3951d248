"""Which prompts include which: every version's includes, parsed into rows of their own.

A version's ``includes`` column keeps its references as written (``support/tone``,
``support/tone@production``, ``support/tone@3``). Asking "who includes X" of that JSON
means reading every version; so each version's references are also written, parsed, as
rows of ``version_includes`` (one per prompt and label or version it names), in the same
transaction as the version: by the publish, by a restore, and for the versions made
before the table by its migration. The index on the included prompt then answers the
console's "included by" list and the webhooks' walk of the answers a label move changes.

This module owns the table: the one function that writes it and the two reads.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import String, Table, and_, bindparam, insert, or_, select
from sqlalchemy.orm import Session

from registry.access.scopes import readable_names
from registry.inputs import MAX_INTEGER
from registry.prompts.models import Label, Prompt, PromptVersion, VersionInclude
from registry.templating.engine import IncludeRef, parse_ref

__all__ = [
    "ServedLink",
    "included_by_newest",
    "link_rows",
    "parse_links",
    "served_links",
    "write_links",
]

_LINK_TABLE = cast(Table, VersionInclude.__table__)
_LINKS = _LINK_TABLE.c
_VERSIONS = PromptVersion.__table__.c
_PROMPTS = Prompt.__table__.c
_LABELS = Label.__table__.c
# The widths of the columns a reference's parts go in.
_NAME_MAX = cast(String, _LINKS.target_name.type).length or 0
_LABEL_MAX = cast(String, _LINKS.target_label.type).length or 0

_INSERT = insert(_LINK_TABLE)
_NAMES_PER_READ = 1000


def parse_links(refs: Iterable[str]) -> list[IncludeRef]:
    """The prompts a version's references name, each once, parsed as the template engine
    parses them (a bare name means its ``production`` label).

    A reference that could name no stored prompt is left out: one that does not parse, or
    whose name, label or version does not fit the columns. The publish path never stores
    one (it resolves every include first); a backup's file might hold one.
    """
    found: dict[IncludeRef, None] = {}
    for ref in refs:
        try:
            target = parse_ref(ref)
        except ValueError:
            continue
        if len(target.name) > _NAME_MAX or len(target.label or "") > _LABEL_MAX:
            continue
        if target.version is not None and target.version > MAX_INTEGER:
            continue
        found[target] = None
    return list(found)


def link_rows(version_id: int, prompt_id: int, refs: Iterable[str]) -> list[dict[str, Any]]:
    """The ``version_includes`` rows of one version's references."""
    return [
        {
            "version_id": version_id,
            "prompt_id": prompt_id,
            "target_name": target.name,
            "target_label": target.label,
            "target_version": target.version,
        }
        for target in parse_links(refs)
    ]


def write_links(session: Session, versions: Iterable[tuple[int, int, Sequence[str]]]) -> None:
    """Write the include links of versions just inserted, each given as (version id,
    prompt id, its ``includes``), in one statement; in the caller's transaction."""
    rows = [row for version in versions for row in link_rows(*version)]
    if rows:
        session.execute(_INSERT, rows)


def included_by_newest(
    session: Session, name: str, *, folders: Sequence[str] | None, limit: int
) -> list[tuple[str, int]]:
    """The prompts whose newest version includes ``name`` (by label, version or bare
    name), other than ``name`` itself, under ``folders`` (None: every prompt), by name:
    (prompt, version).

    Every link naming the prompt is read, of old versions too, before the first ``limit``
    are kept: well under a millisecond for most prompts, about 6 ms for one that a
    thousand prompts of five versions include (bench/console.py).
    """
    query = (
        select(_PROMPTS.name, _VERSIONS.number)
        .select_from(_LINK_TABLE)
        .join(PromptVersion.__table__, _VERSIONS.id == _LINKS.version_id)
        .join(
            Prompt.__table__,
            and_(_PROMPTS.id == _LINKS.prompt_id, _PROMPTS.latest_version == _VERSIONS.number),
        )
        .where(_LINKS.target_name == name, _PROMPTS.name != name)
        # A version naming the prompt twice (``x@production`` and ``x@2``) is listed once.
        .distinct()
        .order_by(_PROMPTS.name)
        .limit(limit)
    )
    readable = readable_names(Prompt.name, folders)
    if readable is not None:
        query = query.where(readable)
    return [(str(prompt), int(number)) for prompt, number in session.execute(query)]


@dataclass(frozen=True)
class ServedLink:
    """A served version that includes ``target_name@target_label``: the prompt's newest
    version (``number == latest_version``) or one ``label`` points at, once per label."""

    target_name: str
    target_label: str
    prompt: str
    number: int
    latest_version: int
    label: str | None


# Versions that something serves (a label or latest) of prompts not archived, including
# one of the given prompts by label; a version comes once per label pointing at it.
_SERVED_LINKS = (
    select(
        _LINKS.target_name,
        _LINKS.target_label,
        _PROMPTS.name.label("prompt"),
        _VERSIONS.number,
        _PROMPTS.latest_version,
        _LABELS.name.label("label"),
    )
    .select_from(_LINK_TABLE)
    .join(PromptVersion.__table__, _VERSIONS.id == _LINKS.version_id)
    .join(Prompt.__table__, _PROMPTS.id == _LINKS.prompt_id)
    .outerjoin(
        Label.__table__,
        and_(_LABELS.prompt_id == _LINKS.prompt_id, _LABELS.version_id == _LINKS.version_id),
    )
    .where(
        _LINKS.target_name.in_(bindparam("names", expanding=True)),
        _LINKS.target_label.is_not(None),
        _PROMPTS.archived_at.is_(None),
        or_(_VERSIONS.number == _PROMPTS.latest_version, _LABELS.id.is_not(None)),
    )
    .order_by(_PROMPTS.name, _LABELS.name)
)


def served_links(session: Session, names: Collection[str]) -> list[ServedLink]:
    """The served versions that include any of ``names`` by a label (pinned versions
    never change, so they are not among them); those of one included prompt ordered by
    prompt and label."""
    ordered = sorted(names)
    found = []
    # A statement's parameters are bounded (SQLite's default limit is 32,766).
    for first in range(0, len(ordered), _NAMES_PER_READ):
        chunk = ordered[first : first + _NAMES_PER_READ]
        found += [
            ServedLink(
                target_name=row.target_name,
                target_label=row.target_label,
                prompt=row.prompt,
                number=row.number,
                latest_version=row.latest_version,
                label=row.label,
            )
            for row in session.execute(_SERVED_LINKS, {"names": chunk})
        ]
    return found
