"""Prompts: create, read, update, archive and list. Never commits; the caller's unit of
work does (see ``registry.db``)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from registry.access import audit
from registry.access.scopes import readable_names
from registry.db import utcnow
from registry.errors import Conflict, ErrorItem, InvalidInput, NotFound
from registry.inputs import MAX_INTEGER, has_nul
from registry.locales.messages import _
from registry.locales.requests import parse_locale
from registry.prompts import models, repository
from registry.prompts.schemas import Kind, Prompt, PromptCreate, PromptPage, PromptUpdate


def prompt_schema(prompt: models.Prompt) -> Prompt:
    return Prompt(
        name=prompt.name,
        kind=Kind(prompt.kind),
        source_locale=prompt.source_locale,
        description=prompt.description,
        tags=prompt.tag_names,
        archived=prompt.archived_at is not None,
        latest_version=prompt.latest_version or None,
        labels={label.name: label.version.number for label in prompt.labels},
        created_at=prompt.created_at,
        updated_at=prompt.updated_at,
    )


def get_prompt(session: Session, name: str, *, lock: bool = False) -> models.Prompt:
    """The prompt called ``name``; with ``lock``, its row is locked until commit."""
    query = repository.PROMPT_NAMED_LOCKED if lock else repository.PROMPT_NAMED
    prompt = session.scalars(query, {"name": name}).one_or_none()
    if prompt is None:
        raise NotFound(_("no prompt is named {name}").format(name=repr(name)))
    return prompt


def lock_prompts(session: Session, names: Iterable[str]) -> None:
    """Lock the rows of the prompts called ``names`` (those that exist) until commit.

    A write to several prompts takes their locks in name order with this first: two
    such writes over the same prompts then queue behind each other, where taking each
    lock as it comes could leave each waiting for one the other holds (a deadlock that
    PostgreSQL breaks by aborting one of them). SQLite's writers take turns anyway.
    """
    wanted = sorted(set(names))
    if wanted:
        session.execute(repository.PROMPTS_NAMED_LOCKED, {"names": wanted}).all()


def read_prompt(session: Session, name: str) -> Prompt:
    prompt = session.scalars(repository.PROMPT_READ, {"name": name}).one_or_none()
    if prompt is None:
        raise NotFound(_("no prompt is named {name}").format(name=repr(name)))
    return prompt_schema(prompt)


def create_prompt(session: Session, data: PromptCreate) -> Prompt:
    if session.scalar(repository.PROMPT_ID_NAMED, {"name": data.name}):
        raise Conflict(
            _("a prompt named {name} already exists").format(name=repr(data.name)),
            [ErrorItem(loc=("body", "name"), message=_("choose another name"))],
        )
    source_locale = parse_locale(data.source_locale, ("body", "source_locale"))
    prompt = models.Prompt(
        name=data.name,
        kind=data.kind.value,
        source_locale=source_locale,
        description=data.description,
        latest_version=0,
        tags=[models.PromptTag(tag=t) for t in dict.fromkeys(data.tags)],
        labels=[],
    )
    session.add(prompt)
    session.flush()
    schema = prompt_schema(prompt)
    audit.record(
        session, "prompt.create", prompt=prompt.name, target=prompt.name, after=_audited(schema)
    )
    return schema


def _audited(prompt: Prompt) -> dict[str, Any]:
    """What the audit trail keeps of a prompt: its settings, not its timestamps."""
    return prompt.model_dump(mode="json", include={"kind", "source_locale", "description", "tags"})


def update_prompt(session: Session, name: str, data: PromptUpdate) -> Prompt:
    prompt = get_prompt(session, name, lock=True)
    before = _audited(read_prompt(session, name))
    if data.description is not None:
        prompt.description = data.description
    if data.tags is not None:
        wanted = list(dict.fromkeys(data.tags))
        prompt.tags = [t for t in prompt.tags if t.tag in wanted]
        have = {t.tag for t in prompt.tags}
        prompt.tags.extend(models.PromptTag(tag=t) for t in wanted if t not in have)
    prompt.updated_at = utcnow()
    session.flush()
    after = read_prompt(session, name)
    if _audited(after) != before:
        audit.record(
            session, "prompt.update", prompt=name, target=name, before=before, after=_audited(after)
        )
    return after


def set_archived(session: Session, name: str, *, archived: bool) -> Prompt:
    prompt = get_prompt(session, name, lock=True)
    was_archived = prompt.archived_at is not None
    if archived and prompt.archived_at is None:
        prompt.archived_at = utcnow()
    elif not archived:
        prompt.archived_at = None
    session.flush()
    if was_archived != archived:
        audit.record(
            session,
            "prompt.archive" if archived else "prompt.restore",
            prompt=name,
            target=name,
            before={"archived": was_archived},
            after={"archived": archived},
        )
    return read_prompt(session, name)


def encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        value = None
    if not isinstance(value, str | int) or isinstance(value, bool) or not _storable(value):
        raise bad_cursor()
    return value


def _storable(value: str | int) -> bool:
    if isinstance(value, int):
        return abs(value) <= MAX_INTEGER
    return not has_nul(value)


def bad_cursor() -> InvalidInput:
    return InvalidInput(
        _("the cursor is not one this registry issued"),
        [
            ErrorItem(
                loc=("query", "cursor"),
                # TRANSLATORS: next_cursor is a field of the API's answer; keep it as it is.
                message=_("pass next_cursor from a previous page"),
            )
        ],
    )


def list_prompts(
    session: Session,
    *,
    prefix: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    include_archived: bool = False,
    cursor: str | None = None,
    limit: int = 50,
    within: Sequence[str] | None = None,
) -> PromptPage:
    """A page of prompts; ``within`` are the folders a caller's key may read."""
    query = select(models.Prompt).options(
        selectinload(models.Prompt.tags), selectinload(models.Prompt.labels)
    )
    readable = readable_names(models.Prompt.name, within)
    if readable is not None:
        query = query.where(readable)
    if prefix:
        folder = prefix.rstrip("/")
        query = query.where(
            or_(
                models.Prompt.name == folder,
                models.Prompt.name.startswith(folder + "/", autoescape=True),
            )
        )
    if tag:
        query = query.where(
            models.Prompt.id.in_(
                select(models.PromptTag.prompt_id).where(models.PromptTag.tag == tag)
            )
        )
    if q:
        query = query.where(
            or_(
                models.Prompt.name.icontains(q, autoescape=True),
                models.Prompt.description.icontains(q, autoescape=True),
            )
        )
    if not include_archived:
        query = query.where(models.Prompt.archived_at.is_(None))
    if cursor:
        after = decode_cursor(cursor)
        query = query.where(models.Prompt.name > str(after))
    rows = list(session.scalars(query.order_by(models.Prompt.name).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return PromptPage(
        items=[prompt_schema(p) for p in rows],
        next_cursor=encode_cursor(rows[-1].name) if more else None,
    )


def prompt_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(models.Prompt)) or 0
