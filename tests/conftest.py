"""Fixtures: every test that touches the store runs on SQLite and, when
``REGISTRY_TEST_DATABASE_URL`` names a PostgreSQL server, on PostgreSQL too.

The schema is made by the Alembic migrations, once per store and test session; each
test runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from registry import migrate
from registry.access import keys
from registry.access.schemas import KeyCreate
from registry.app import create_app
from registry.config import Settings
from registry.db import Database, Reads

POSTGRES_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")
# Apps and servers made by the tests deliver no webhooks unless a test turns it on
# (tests/events does, with settings of its own): an app's delivery thread has its own
# connections, and the `client` fixture's requests share one open test transaction, which
# on SQLite holds the write lock the thread would wait for at every test's teardown.
os.environ["REGISTRY_WEBHOOKS_DELIVER"] = "false"
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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_token(
    session: Session,
    role: str = "admin",
    *,
    owner: str | None = None,
    folder: str | None = None,
    locales: tuple[str, ...] = (),
    read_folders: tuple[str, ...] = (),
) -> str:
    """A new API key's token, stored in ``session``."""
    data = KeyCreate(
        owner=owner or f"{role}-{uuid.uuid4().hex[:6]}",
        role=role,
        folder=folder,
        read_folders=list(read_folders),
    )
    data.locales = list(locales)
    return keys.create_key(session, data, created_by="tests").token


def admin_token(database_url: str) -> str:
    """A committed admin key for a database the app opens on its own (servers, CLI)."""
    db = Database.from_url(database_url)
    try:
        with db.session() as session:
            return new_token(session, "admin", owner="admin")
    finally:
        db.dispose()


@pytest.fixture
def make_token(session: Session) -> Callable[..., str]:
    """A new key's token: ``make_token("translator", locales=("fr",))``."""

    def make(
        role: str,
        *,
        owner: str | None = None,
        folder: str | None = None,
        locales: tuple[str, ...] = (),
        read_folders: tuple[str, ...] = (),
    ) -> str:
        return new_token(
            session, role, owner=owner, folder=folder, locales=locales, read_folders=read_folders
        )

    return make


@pytest.fixture
def make_key(make_token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """Headers carrying a new key: ``make_key("translator", locales=("fr",))``."""

    def make(role: str, **kwargs: Any) -> dict[str, str]:
        return bearer(make_token(role, **kwargs))

    return make


class TestTransaction(Database):
    """The registry's database as a test sees it: every session is a savepoint of the
    test's one transaction (rolled back at its end), and reads outside a session read
    on its connection. ``failure``, when set, is raised by every use of it (a broken
    store)."""

    __test__ = False

    def __init__(self, database: Database, session: Session) -> None:
        super().__init__(database.engine)
        self._database = database
        self.shared = session
        self.failure: BaseException | None = None

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        if self.failure is not None:
            raise self.failure
        with self.shared.begin_nested():
            yield self.shared

    @property
    def reads_wait(self) -> bool:
        return self._database.reads_wait

    @contextmanager
    def reads(self) -> Iterator[Reads]:
        if self.failure is not None:
            raise self.failure
        connection = self.shared.connection()
        yield Reads(connection.connection.dbapi_connection, connection.dialect)


class OneRequestAtATime:
    """ASGI middleware: requests wait for the one before to end (its response sent, its
    background tasks done). One Session is not for concurrent use, and the SDK's
    background refreshes may overlap a foreground request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._turns: dict[int, anyio.Lock] = {}  # one per event loop that calls the app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        turn = self._turns.setdefault(id(asyncio.get_running_loop()), anyio.Lock())
        async with turn:
            await self.app(scope, receive, send)


@pytest.fixture
def client(session: Session, database: Database, settings: Settings) -> Iterator[TestClient]:
    """The real ASGI app, its database the test's transaction: every request's session
    is a savepoint of it, and requests take turns.

    Requests carry an admin key (owner ``admin``) unless they send their own
    ``Authorization``; ``make_key`` makes keys of other roles.
    """
    app = create_app(settings, db=TestTransaction(database, session))
    app.add_middleware(OneRequestAtATime)
    token = new_token(session, "admin", owner="admin")
    with TestClient(app, raise_server_exceptions=False, headers=bearer(token)) as test_client:
        yield test_client


@pytest.fixture
def migrated_url(store: str, tmp_path: Path) -> Iterator[str]:
    """A new database of its own, migrated to head, for tests that need real commits."""
    with fresh_database(store, tmp_path) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
def committing_client(migrated_url: str) -> Iterator[TestClient]:
    """The app exactly as served: its own engine, one committed transaction per request.

    Requests carry a committed admin key (owner ``admin``).
    """
    app = create_app(Settings(database_url=migrated_url, max_body_bytes=64 * 1024))
    token = admin_token(migrated_url)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(token)) as test_client:
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
