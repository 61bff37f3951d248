"""The resolve path's Core statements see the transaction's own unflushed changes.

They are built on the tables' columns, so the session runs them without the ORM's
compile and loading steps; SQLAlchemy autoflushes before Core statements as before ORM
queries, and the write paths that resolve includes rely on it in the middle of their
own transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.prompts import models
from registry.prompts.service import find_served

from factories import make_prompt, publish


def _label(session: Session, name: str, label: str) -> models.Label:
    query = (
        select(models.Label)
        .join(models.Prompt, models.Prompt.id == models.Label.prompt_id)
        .where(models.Prompt.name == name, models.Label.name == label)
    )
    return session.scalars(query).one()


def _version_id(session: Session, name: str, number: int) -> int:
    query = (
        select(models.PromptVersion.id)
        .join(models.Prompt, models.Prompt.id == models.PromptVersion.prompt_id)
        .where(models.Prompt.name == name, models.PromptVersion.number == number)
    )
    return session.scalars(query).one()


def test_a_label_moved_but_not_flushed_is_served_where_it_now_points(session: Session) -> None:
    name = make_prompt(session)
    publish(session, name=name, template="Hello again {{ who }}")
    second = _version_id(session, name, 2)
    assert find_served(session, name, label="production", number=None).number == 1
    _label(session, name, "production").version_id = second
    assert session.dirty
    assert find_served(session, name, label="production", number=None).number == 2


def test_nothing_is_flushed_while_autoflush_is_off(session: Session) -> None:
    name = make_prompt(session)
    publish(session, name=name, template="Hello again {{ who }}")
    second = _version_id(session, name, 2)
    with session.no_autoflush:
        _label(session, name, "production").version_id = second
        assert find_served(session, name, label="production", number=None).number == 1
        assert session.dirty
