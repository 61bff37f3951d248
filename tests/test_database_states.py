"""What a request is answered when the database is full, takes no writes, or lacks its
tables: each its own answer, not "busy"; and a failed write leaves nothing behind.

Real databases put in each state: SQLite's page limit and ``query_only``, PostgreSQL's
read-only transactions, and a database never migrated.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError

from registry.app import create_app
from registry.config import Settings
from registry.db import Database, Failure, failure_of
from registry.health import RETRY_AFTER_OPERATOR

from conftest import admin_token, bearer, fresh_database
from factories import unique_name

PROBLEM_JSON = "application/problem+json"
FULL = "the database has no space left; free some space, then retry"
READ_ONLY = "the database is read-only; writes resume once it takes writes again"


def on_every_connection(engine: Engine, *statements: str) -> None:
    """Run ``statements`` on each new connection of ``engine``, from now on."""

    def run(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        if not getattr(dbapi_connection, "autocommit", True):
            dbapi_connection.commit()

    event.listen(engine, "connect", run)
    engine.dispose()  # the pooled connections are replaced by ones that ran them


@pytest.fixture
def client(migrated_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=migrated_url))
    with TestClient(app, headers=bearer(admin_token(migrated_url))) as test_client:
        yield test_client


def database(client: TestClient) -> Database:
    return client.app.state.db  # type: ignore[attr-defined,no-any-return]


def publish(client: TestClient, name: str, text: str) -> Any:
    body = {"template": f"{text} {{{{ who }}}}", "variables": [{"name": "who"}]}
    return client.post(f"/v1/prompts/{name}/-/versions", json=body)


def unavailable(response: Any, detail: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == str(RETRY_AFTER_OPERATOR)
    assert response.json()["detail"] == detail


def test_a_read_only_database_refuses_writes_and_serves_reads(
    client: TestClient, store: str
) -> None:
    name = unique_name("states/ro")
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    assert publish(client, name, "Hello").status_code == 201
    engine = database(client).engine
    if store == "sqlite":
        on_every_connection(engine, "PRAGMA query_only = ON")
    else:
        on_every_connection(engine, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    unavailable(publish(client, name, "Hello again"), READ_ONLY)
    served = client.get(f"/v1/prompts/{name}/-/resolve", params={"label": "latest"})
    assert served.status_code == 200, served.text
    assert served.json()["version"] == 1
    versions = client.get(f"/v1/prompts/{name}/-/versions").json()["items"]
    assert [v["number"] for v in versions] == [1]


def test_a_full_sqlite_database_refuses_writes_and_keeps_what_it_had(
    client: TestClient, store: str, migrated_url: str
) -> None:
    if store != "sqlite":
        pytest.skip("SQLite's page limit stands in for a full disk")
    name = unique_name("states/full")
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    path = migrated_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("VACUUM")  # no free pages: every new row needs the file to grow
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    on_every_connection(database(client).engine, f"PRAGMA max_page_count = {pages}")
    published = 0
    for attempt in range(200):
        answer = publish(client, name, f"Version {attempt}: " + "words " * 200)
        if answer.status_code != 201:
            break
        published += 1
    unavailable(answer, FULL)
    versions = client.get(f"/v1/prompts/{name}/-/versions", params={"limit": 200}).json()
    assert len(versions["items"]) == published  # the refused publish left nothing


def test_a_database_never_migrated_is_an_error_not_busy(store: str, tmp_path: Any) -> None:
    with fresh_database(store, tmp_path) as url:
        app = create_app(Settings(database_url=url))
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.get("/v1/prompts", headers=bearer("rk_0123456789_secret"))
            assert answer.status_code == 500, answer.text
            assert answer.headers["content-type"] == PROBLEM_JSON
            assert answer.json()["detail"] == "the database reported an error"
            app.state.db.dispose()


@pytest.mark.parametrize(
    ("sqlstate", "failure"),
    [
        ("40001", Failure.BUSY),  # serialization failure
        ("40P01", Failure.BUSY),  # deadlock detected
        ("55P03", Failure.BUSY),  # lock not available
        ("57014", Failure.BUSY),  # statement timeout
        ("53300", Failure.BUSY),  # too many connections
        ("53100", Failure.FULL),  # disk full
        ("25006", Failure.READ_ONLY),  # read-only transaction
        ("57P01", Failure.UNREACHABLE),  # the server shutting down
        ("08006", Failure.UNREACHABLE),  # connection failure
        ("42P01", Failure.OTHER),  # undefined table
    ],
)
def test_postgresql_errors_by_sqlstate(sqlstate: str, failure: Failure) -> None:
    error = psycopg.errors.lookup(sqlstate)("from the server")
    wrapped = DBAPIError.instance("SELECT 1", {}, error, psycopg.Error)
    assert failure_of(wrapped) is failure
