"""Serving-path reads run on the session's DBAPI connection behave as the session's own
queries: same transaction, pending changes flushed, driver errors raised as SQLAlchemy's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from registry.db import Database, PreparedRead, in_list
from registry.prompts import models

from factories import unique_name

_PROMPTS = models.Prompt.__table__.c
BY_NAMES = PreparedRead(
    lambda names: (
        select(_PROMPTS.name, _PROMPTS.created_at)
        .where(in_list(_PROMPTS.name, "names", names))
        .order_by(_PROMPTS.name)
    ),
    "names",
)
BY_NAME = PreparedRead(lambda: select(_PROMPTS.id).where(_PROMPTS.name == bindparam("name")))


@pytest.fixture
def database(migrated_url: str) -> Iterator[Database]:
    db = Database.from_url(migrated_url)
    yield db
    db.dispose()


def add_prompt(database: Database, name: str) -> None:
    with database.session() as session:
        session.add(models.Prompt(name=name, kind="text"))


def test_lists_of_any_length_and_typed_columns(database: Database) -> None:
    names = [unique_name("prepared/p") for _ in range(3)]
    for name in names:
        add_prompt(database, name)
    with database.session(write=False) as session:
        for count in (1, 3, 2):
            rows = BY_NAMES.rows(session, names=names[:count])
            assert [row.name for row in rows] == sorted(names[:count])
            # Result processing as SQLAlchemy's: a timezone-aware datetime, not a string.
            assert all(row.created_at.tzinfo is not None for row in rows)
        assert BY_NAMES.rows(session, names=["nobody/here"]) == []


def test_what_the_session_has_not_written_yet_is_read(database: Database) -> None:
    name = unique_name("prepared/pending")
    with database.session() as session:
        session.add(models.Prompt(name=name, kind="text"))
        row = BY_NAME.first(session, name=name)
        assert row is not None
        session.rollback()
    with database.session(write=False) as session:
        assert BY_NAME.first(session, name=name) is None


def test_each_transaction_reads_on_its_own_connection(database: Database) -> None:
    first, second = unique_name("prepared/a"), unique_name("prepared/b")
    add_prompt(database, first)
    with Session(database.engine) as session:
        assert BY_NAME.first(session, name=first) is not None
        session.commit()
        add_prompt(database, second)  # committed by another session meanwhile
        # A new transaction of the same session sees it: nothing stale is reused.
        assert BY_NAME.first(session, name=second) is not None


def test_a_driver_error_is_raised_as_sqlalchemys(database: Database) -> None:
    missing = Table("no_such_table", MetaData(), Column("id", Integer))
    broken = PreparedRead(lambda: select(missing.c.id))
    with pytest.raises(DBAPIError) as raised, database.session(write=False) as session:
        broken.rows(session)
    assert "no_such_table" in str(raised.value)
    assert not raised.value.connection_invalidated


def test_a_lost_connection_is_invalidated(database: Database, store: str) -> None:
    if store != "postgresql":
        pytest.skip("a SQLite file has no server to drop the connection")
    add_prompt(database, name := unique_name("prepared/lost"))
    with pytest.raises(DBAPIError) as raised, database.session(write=False) as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        with database.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        BY_NAME.rows(session, name=name)
    assert raised.value.connection_invalidated
    # The pool replaced the connection: the next session reads again.
    with database.session(write=False) as session:
        assert BY_NAME.first(session, name=name) is not None


def test_compiled_forms_stay_bounded(database: Database) -> None:
    names = [unique_name("prepared/many") for _ in range(3)]
    for name in names:
        add_prompt(database, name)
    many = PreparedRead(
        lambda count: select(_PROMPTS.name).where(in_list(_PROMPTS.name, "names", count)),
        "names",
    )
    with database.session(write=False) as session:
        for count in range(1, 400):
            asked = [*names, *(f"nobody/{i}" for i in range(count))]
            assert {row.name for row in many.rows(session, names=asked)} == set(names)
    assert len(many._compiled) <= 256
