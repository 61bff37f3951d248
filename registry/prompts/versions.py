"""Published versions: read one, list them, diff two. Never commits; the caller's unit
of work does (see ``registry.db``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import NotFound
from registry.locales.messages import _
from registry.prompts import models, repository
from registry.prompts.diff import diff_versions
from registry.prompts.prompts import bad_cursor, decode_cursor, encode_cursor, get_prompt
from registry.prompts.schemas import (
    Diff,
    Kind,
    Message,
    ModelConfig,
    StyleReport,
    Variable,
    Version,
    VersionPage,
)
from registry.style import service as style


def version_schema(version: models.PromptVersion) -> Version:
    return version_schema_of(version.prompt.name, version.prompt.kind, version)


def version_schema_of(
    prompt: str, kind: str, version: Any, style: StyleReport | None = None
) -> Version:
    """A version's schema from its prompt's name and kind and anything with a version's
    attributes: a mapped version or a row of its columns."""
    return Version(
        prompt=prompt,
        number=version.number,
        kind=Kind(kind),
        template=version.template,
        messages=[Message(**m) for m in version.messages] if version.messages else None,
        variables=[Variable(**v) for v in version.variables],
        config=ModelConfig(**version.config),
        includes=list(version.includes),
        message=version.message,
        author=version.author,
        content_hash=version.content_hash,
        created_at=version.created_at,
        style=style,
    )


def version_by_number(session: Session, prompt: models.Prompt, number: int) -> models.PromptVersion:
    version = session.scalars(
        repository.VERSION_NUMBERED, {"prompt_id": prompt.id, "number": number}
    ).one_or_none()
    if version is None:
        if prompt.latest_version:
            message = _("prompt {name} has no version {number}; its newest is {newest}").format(
                name=repr(prompt.name), number=number, newest=prompt.latest_version
            )
        else:
            message = _("prompt {name} has no version {number}").format(
                name=repr(prompt.name), number=number
            )
        raise NotFound(message)
    return version


def get_version(session: Session, name: str, number: int) -> Version:
    row = version_by_number(session, get_prompt(session, name), number)
    return with_style(session, version_schema(row), row.id)


def list_versions(
    session: Session, name: str, *, cursor: str | None = None, limit: int = 50
) -> VersionPage:
    prompt = get_prompt(session, name)
    query = select(models.PromptVersion).where(models.PromptVersion.prompt_id == prompt.id)
    if cursor:
        before = decode_cursor(cursor)
        if not isinstance(before, int):
            raise bad_cursor()
        query = query.where(models.PromptVersion.number < before)
    rows = list(
        session.scalars(query.order_by(models.PromptVersion.number.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return VersionPage(
        items=[with_style(session, version_schema(v), v.id) for v in rows],
        next_cursor=encode_cursor(rows[-1].number) if more else None,
    )


def with_style(session: Session, version: Version, version_id: int) -> Version:
    version.style = style.load_report(session, version_id)
    return version


def diff(session: Session, name: str, old: int, new: int) -> Diff:
    prompt = get_prompt(session, name)
    return diff_versions(
        version_schema(version_by_number(session, prompt, old)),
        version_schema(version_by_number(session, prompt, new)),
    )
