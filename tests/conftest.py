"""Fixtures: every test that touches the store runs on SQLite and, when
``REGISTRY_TEST_DATABASE_URL`` names a PostgreSQL server, on PostgreSQL too.

The schema is made by the Alembic migrations, once per store and test session; each
test runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from registry import migrate
from registry.app import create_app
from registry.config import Settings
from registry.db import Database
from registry.dependencies import get_session

POSTGRES_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")
STORES = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


@contextmanager
def fresh_database(store: str, tmp_dir: Path) -> Iterator[str]:
    """The URL of a new, empty database on ``store``, removed afterwards."""
    if store == "sqlite":
        path = tmp_dir / f"registry-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        return
    name = f"registry_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(store, tmp_path_factory.mktemp(store)) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    db = Database.from_url(database_url)
    yield db
    db.dispose()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A session whose commits are savepoints inside one transaction rolled back at the end."""
    with database.engine.connect() as connection:
        outer = connection.begin()
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as db_session:
            yield db_session
        outer.rollback()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, max_body_bytes=64 * 1024)


@pytest.fixture
def client(session: Session, database: Database, settings: Settings) -> Iterator[TestClient]:
    """The real ASGI app, each request in a savepoint of the test's transaction."""
    app = create_app(settings, db=database)

    # One Session is not for concurrent use; the SDK's background refreshes may overlap
    # a foreground request, so requests on the shared test session take turns.
    turn = threading.Lock()

    def test_session() -> Iterator[Session]:
        with turn, session.begin_nested():
            yield session

    app.dependency_overrides[get_session] = test_session
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def migrated_url(store: str, tmp_path: Path) -> Iterator[str]:
    """A new database of its own, migrated to head, for tests that need real commits."""
    with fresh_database(store, tmp_path) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
def committing_client(migrated_url: str) -> Iterator[TestClient]:
    """The app exactly as served: its own engine, one committed transaction per request."""
    app = create_app(Settings(database_url=migrated_url, max_body_bytes=64 * 1024))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@contextmanager
def live_server(database_url: str) -> Iterator[str]:
    """Uvicorn serving the registry on a free loopback port, in a thread."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(database_url=database_url)),
            host="127.0.0.1",
            port=0,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
