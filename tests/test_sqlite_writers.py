"""SQLite writers of one process take turns on the process's own lock before SQLite's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, PendingRollbackError

from registry import migrate
from registry.db import Database


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    migrate.upgrade(url)
    db = Database.from_url(url, busy_timeout_ms=300)
    yield db
    db.dispose()


def write(database: Database, description: str) -> None:
    with database.session(write=True) as session:
        session.execute(
            text(
                "INSERT INTO label_policies (path, protected, four_eyes, updated_at, updated_by)"
                " VALUES (:p, '[]', 0, '2026-01-01 00:00:00', 'tests')"
            ),
            {"p": description},
        )


def paths(database: Database) -> list[str]:
    with database.session(write=False) as session:
        return list(session.scalars(text("SELECT path FROM label_policies ORDER BY path")))


def test_concurrent_writers_all_commit(database: Database) -> None:
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            for i in range(20):
                write(database, f"w{n}-{i:02}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(paths(database)) == 120


def test_a_writer_waits_no_longer_than_the_busy_timeout(database: Database) -> None:
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with database.session(write=True) as session:
            session.execute(text("SELECT 1"))
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(OperationalError, match="locked"):
            write(database, "refused")
    finally:
        release.set()
        holder.join()
    write(database, "after")
    assert paths(database) == ["after"]


def test_the_turn_is_given_back_after_a_rollback_and_an_invalidation(
    database: Database,
) -> None:
    with pytest.raises(RuntimeError), database.session(write=True) as session:
        session.execute(text("SELECT 1"))
        raise RuntimeError("rolled back")
    with pytest.raises(PendingRollbackError), database.session(write=True) as session:
        session.execute(text("SELECT 1"))
        session.connection().invalidate()
    write(database, "still-writable")
    assert paths(database) == ["still-writable"]
