"""The statements of the prompts domain, built once at import.

The pointer and served-version reads of resolve live with it in
``registry.prompts.service``.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, exists, func, insert, select, update
from sqlalchemy.orm import selectinload

from registry.prompts import models
from registry.translations.models import Translation

# Every write to a prompt starts with its row.
PROMPT_NAMED = select(models.Prompt).where(models.Prompt.name == bindparam("name"))
PROMPT_NAMED_LOCKED = PROMPT_NAMED.with_for_update().execution_options(populate_existing=True)

# What a prompt's read model shows: its tags and labels too.
PROMPT_READ = PROMPT_NAMED.options(
    selectinload(models.Prompt.tags), selectinload(models.Prompt.labels)
)
PROMPT_ID_NAMED = select(models.Prompt.id).where(models.Prompt.name == bindparam("name"))

PROMPTS_NAMED_LOCKED = (
    select(models.Prompt.id)
    .where(models.Prompt.name.in_(bindparam("names", expanding=True)))
    .order_by(models.Prompt.name)
    .with_for_update()
)

# Publishing reads the newest version and whether the prompt has translations (one
# statement), writes the version and moves the prompt's newest number on every call:
# Core statements on the tables' columns, without the ORM's loading steps and unit of work.
_VERSION_TABLE = cast(Table, models.PromptVersion.__table__)
_PROMPT_TABLE = cast(Table, models.Prompt.__table__)
_PUBLISHED = _VERSION_TABLE.c
_TRANSLATED = Translation.__table__.c
NEWEST = select(
    _PUBLISHED.id,
    _PUBLISHED.prompt_id,
    _PUBLISHED.number,
    _PUBLISHED.content_hash,
    _PUBLISHED.template,
    _PUBLISHED.messages,
    exists().where(_TRANSLATED.prompt_id == bindparam("prompt_id")).label("localized"),
).where(_PUBLISHED.prompt_id == bindparam("prompt_id"), _PUBLISHED.number == bindparam("number"))
# Returns the row as written: the answer to a publish is built from it, as any read of
# the version would be.
INSERT_VERSION = insert(_VERSION_TABLE).returning(
    *(column for column in _PUBLISHED if column.key != "model_config"),
    _PUBLISHED.model_config.label("config"),
)
SET_LATEST = (
    update(_PROMPT_TABLE)
    .where(_PROMPT_TABLE.c.id == bindparam("prompt"))
    .values(latest_version=bindparam("latest"), updated_at=bindparam("at"))
)

VERSION_NUMBERED = select(models.PromptVersion).where(
    models.PromptVersion.prompt_id == bindparam("prompt_id"),
    models.PromptVersion.number == bindparam("number"),
)

LABELS_OF_PROMPT = (
    select(models.Label)
    .where(models.Label.prompt_id == bindparam("prompt_id"))
    .order_by(models.Label.name)
)
LABEL_NAMED = select(models.Label).where(
    models.Label.prompt_id == bindparam("prompt_id"), models.Label.name == bindparam("label")
)
# A prompt's label moves, newest first: of every label, or of one.
LABEL_EVENTS = (
    select(models.LabelEvent)
    .where(models.LabelEvent.prompt_id == bindparam("prompt_id"))
    .order_by(models.LabelEvent.id.desc())
)
LABEL_EVENTS_OF = LABEL_EVENTS.where(models.LabelEvent.label == bindparam("label"))
# The last move of a label, which its ETag names.
LAST_MOVE = select(func.max(models.LabelEvent.id)).where(
    models.LabelEvent.prompt_id == bindparam("prompt_id"),
    models.LabelEvent.label == bindparam("label"),
)
