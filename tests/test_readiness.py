"""Every wait on PostgreSQL is bounded: /readyz answers within seconds even when the
database freezes mid-connection, and a statement over the statement timeout is a 503."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from registry import migrate
from registry.app import create_app
from registry.config import Settings
from registry.db import KEEPALIVES_IDLE_S, Database, Failure, failure_of, make_engine
from registry.health import RETRY_AFTER_UNREACHABLE

from conftest import POSTGRES_URL, admin_token, bearer, fresh_database, live_server

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="REGISTRY_TEST_DATABASE_URL is not set")

PROBLEM_JSON = "application/problem+json"


class FreezingProxy:
    """Forwards a loopback port to ``target``; :meth:`freeze` stops forwarding bytes in
    both directions without closing anything, as a hung proxy or host does: the kernel
    still accepts connections and acknowledges what is sent. :meth:`freeze_at_query`
    freezes it once a client sends its next query, after its connection is set up."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thawed = threading.Event()
        self._thawed.set()
        self._at_query = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self._thawed.clear()

    def freeze_at_query(self) -> None:
        self._at_query.set()

    def thaw(self) -> None:
        self._at_query.clear()
        self._thawed.set()

    def close(self) -> None:
        self.thaw()
        for sock in [self._listener, *self._sockets]:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                return  # closed
            upstream.settimeout(None)
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                args = (source, sink, source is client)
                threading.Thread(target=self._pipe, args=args, daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, to_server: bool) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                # A simple query (Q) or the Parse (P) that starts an extended one.
                if to_server and self._at_query.is_set() and data[:1] in (b"Q", b"P"):
                    self._thawed.clear()
                self._thawed.wait()
                sink.sendall(data)


@contextmanager
def postgres_database(tmp_path: Path) -> Iterator[str]:
    with fresh_database("postgresql", tmp_path) as url:
        migrate.upgrade(url)
        yield url


def timed_get(http: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = http.get(path)
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) > 0
    body: dict[str, Any] = response.json()
    assert body["type"] == "/problems/unavailable"
    return body


class TestFrozenDatabase:
    def test_readyz_answers_within_five_seconds_and_recovers(self, tmp_path: Path) -> None:
        with postgres_database(tmp_path) as direct_url:
            token = admin_token(direct_url)
            direct = make_url(direct_url)
            proxy = FreezingProxy((direct.host or "127.0.0.1", direct.port or 5432))
            proxied = direct.set(host="127.0.0.1", port=proxy.port)
            try:
                with (
                    live_server(proxied.render_as_string(hide_password=False)) as base,
                    httpx.Client(base_url=base, headers=bearer(token), timeout=15) as http,
                ):
                    # The pool holds connections to the proxy, then the proxy freezes: first
                    # at the check's query, on a connection already set up; from then on,
                    # new connections hang too.
                    assert http.get("/v1/prompts").status_code == 200
                    assert http.get("/readyz").status_code == 200
                    proxy.freeze_at_query()
                    for _probe in range(3):  # probes that gave up leave nothing stuck
                        response, elapsed = timed_get(http, "/readyz")
                        assert elapsed < 5, f"took {elapsed:.1f} s"
                        assert_unavailable(response)
                        assert response.headers["retry-after"] == str(RETRY_AFTER_UNREACHABLE)
                    assert http.get("/healthz").status_code == 200

                    proxy.thaw()
                    deadline = time.monotonic() + 10
                    while (ready := http.get("/readyz")).status_code != 200:
                        assert time.monotonic() < deadline, ready.text
                        time.sleep(0.2)
            finally:
                proxy.close()


class TestPing:
    def test_a_query_that_gets_no_answer_is_given_up_on(self, tmp_path: Path) -> None:
        with postgres_database(tmp_path) as direct_url:
            direct = make_url(direct_url)
            proxy = FreezingProxy((direct.host or "127.0.0.1", direct.port or 5432))
            proxied = direct.set(host="127.0.0.1", port=proxy.port)
            db = Database.from_url(proxied.render_as_string(hide_password=False))
            try:
                # At the first queries of the first connection: the dialect's own.
                proxy.freeze_at_query()
                started = time.monotonic()
                with pytest.raises(DBAPIError) as raised:
                    db.ping(2)
                elapsed = time.monotonic() - started
                proxy.thaw()
                db.ping(2)
                # At the check's own query, on a connection already set up.
                proxy.freeze_at_query()
                with pytest.raises(DBAPIError):
                    db.ping(2)
            finally:
                proxy.close()
                db.dispose()
        assert failure_of(raised.value) is Failure.UNREACHABLE
        assert 2 <= elapsed < 3, f"took {elapsed:.1f} s"


class TestStatementTimeout:
    def test_a_statement_over_the_timeout_is_a_503(self, tmp_path: Path) -> None:
        with postgres_database(tmp_path) as url:
            token = admin_token(url)
            app = create_app(Settings(database_url=url, statement_timeout_ms=300))
            locker = psycopg.connect(
                make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            )
            try:
                with TestClient(
                    app, raise_server_exceptions=False, headers=bearer(token)
                ) as client:
                    assert client.get("/v1/prompts").status_code == 200
                    # Another transaction holds the table: a read of it waits for the lock.
                    locker.execute("LOCK TABLE prompts IN ACCESS EXCLUSIVE MODE")
                    release = threading.Timer(10, locker.rollback)
                    release.start()
                    try:
                        started = time.monotonic()
                        response = client.get("/v1/prompts")
                        elapsed = time.monotonic() - started
                    finally:
                        release.cancel()
                        locker.rollback()
                body = assert_unavailable(response)
                assert body["detail"] == "the database is busy; retry shortly"
                assert elapsed < 3, f"took {elapsed:.1f} s"
            finally:
                locker.close()

    def test_every_engine_of_the_app_has_the_bounds(self, tmp_path: Path) -> None:
        with postgres_database(tmp_path) as url:
            db = Database.from_url(url, statement_timeout_ms=1234)
            try:
                engines = [db.engine, db._single_statements()]
                db.ping(3)
                assert db._ping is not None
                engines.append(db._ping)
                for engine in engines:
                    with engine.connect() as connection:
                        driver: Any = connection.connection.driver_connection
                        parameters = driver.info.get_parameters()
                        timeout = connection.exec_driver_sql("SHOW statement_timeout").scalar()
                    assert timeout == "1234ms"
                    assert parameters["keepalives_idle"] == str(KEEPALIVES_IDLE_S)
                    assert parameters["tcp_user_timeout"]
            finally:
                db.dispose()

    def test_options_of_the_url_win(self, tmp_path: Path) -> None:
        with postgres_database(tmp_path) as url:
            given = make_url(url).update_query_dict({"options": "-c statement_timeout=777"})
            engine = make_engine(
                given.render_as_string(hide_password=False), statement_timeout_ms=5
            )
            try:
                with engine.connect() as connection:
                    timeout = connection.exec_driver_sql("SHOW statement_timeout").scalar()
            finally:
                engine.dispose()
            assert timeout == "777ms"
