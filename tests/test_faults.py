"""Faults: the database going away under a running server, and a server killed mid-write."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from registry import migrate
from registry.app import create_app
from registry.config import Settings
from registry.db import CONNECT_TIMEOUT_S, TCP_USER_TIMEOUT_MS, make_engine
from registry.health import RETRY_AFTER_UNREACHABLE

from conftest import POSTGRES_URL, admin_token, bearer, fresh_database, live_server

PROBLEM_JSON = "application/problem+json"
UNREACHABLE = "the database cannot be reached; retry shortly"


def assert_unavailable(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) > 0
    body: dict[str, Any] = response.json()
    assert (body["status"], body["type"]) == (503, "/problems/unavailable")
    return body


def poll(call: Any, until: Any, *, seconds: float) -> httpx.Response:
    """Call ``call()`` until ``until(response)`` holds; the last response otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        response: httpx.Response = call()
        if until(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


class TestProbes:
    """In process: what the probes answer, with no API key."""

    def test_healthz_answers_without_a_database(self, tmp_path: Path) -> None:
        missing = tmp_path / "no-such-dir" / "registry.db"
        app = create_app(Settings(database_url=f"sqlite:///{missing}"))
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/healthz")
            assert response.status_code == 200
            assert response.json()["status"] == "ok"
            assert assert_unavailable(client.get("/readyz"))["detail"] == UNREACHABLE
            listed = client.get("/v1/prompts", headers=bearer("rk_0123456789_secret"))
            assert assert_unavailable(listed)["detail"] == UNREACHABLE
        assert not missing.parent.exists()

    def test_readyz_when_the_database_answers(self, migrated_url: str) -> None:
        with TestClient(create_app(Settings(database_url=migrated_url))) as client:
            response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["status"] == "ready"
        assert response.json()["database"] == make_url(migrated_url).get_backend_name()

    def test_not_ready_is_translated(self, tmp_path: Path) -> None:
        app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/missing/registry.db"))
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/readyz", headers={"Accept-Language": "fr"})
        body = assert_unavailable(response)
        assert (
            body["detail"] == "la base de données est injoignable\u00a0; réessayez dans un instant"
        )
        assert response.headers["content-language"] == "fr"

    def test_a_database_that_never_answers_fails_fast(self) -> None:
        # A port that completes the TCP handshake (the kernel's backlog) but never speaks,
        # like a database host that hangs: the connect timeout bounds the wait.
        with socket.create_server(("127.0.0.1", 0)) as silent:
            port = silent.getsockname()[1]
            url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/registry"
            app = create_app(Settings(database_url=url))
            with TestClient(app, raise_server_exceptions=False) as client:
                started = time.monotonic()
                response = client.get("/readyz")
                elapsed = time.monotonic() - started
                assert client.get("/healthz").status_code == 200
        assert assert_unavailable(response)["detail"] == UNREACHABLE
        assert response.headers["retry-after"] == str(RETRY_AFTER_UNREACHABLE)
        assert elapsed < CONNECT_TIMEOUT_S + 5, f"took {elapsed:.1f} s"


class TcpProxy:
    """Forwards a loopback port to ``target``; :meth:`stop` is the database going away.

    Stopping closes the listener (new connections are refused) and every open connection;
    :meth:`start` listens on the same port again.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            _close(self._listener)
            self._listener = None
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            _close(sock)
            with self._lock:
                self._open.discard(sock)


def _close(sock: socket.socket) -> None:
    # shutdown() wakes a thread blocked in accept() or recv() on it; close() alone does not.
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.mark.skipif(not POSTGRES_URL, reason="REGISTRY_TEST_DATABASE_URL is not set")
class TestPostgresOutage:
    def test_the_server_reports_the_outage_and_recovers(self, tmp_path: Path) -> None:
        with fresh_database("postgresql", tmp_path) as direct_url:
            migrate.upgrade(direct_url)
            token = admin_token(direct_url)
            direct = make_url(direct_url)
            proxy = TcpProxy((direct.host or "127.0.0.1", direct.port or 5432))
            proxy.start()
            try:
                proxied = direct.set(host="127.0.0.1", port=proxy.port)
                with (
                    live_server(proxied.render_as_string(hide_password=False)) as base,
                    httpx.Client(base_url=base, headers=bearer(token), timeout=30) as http,
                ):
                    self.check_outage(http, proxy)
            finally:
                proxy.stop()

    def test_a_silent_database_is_given_up_on(self) -> None:
        # Packet loss cannot be staged here; check that libpq got the bounds.
        url = make_url(POSTGRES_URL).update_query_dict({"connect_timeout": "3"})
        engine = make_engine(url.render_as_string(hide_password=False))
        try:
            with engine.connect() as connection:
                info = connection.connection.dbapi_connection.info
                parameters = info.get_parameters()
        finally:
            engine.dispose()
        assert parameters["connect_timeout"] == "3"
        assert parameters["tcp_user_timeout"] == str(TCP_USER_TIMEOUT_MS)

    def check_outage(self, http: httpx.Client, proxy: TcpProxy) -> None:
        versions = "/v1/prompts/faults/pg/-/versions"
        body = {"template": "Hello {{ name }}", "variables": [{"name": "name"}]}
        assert http.post("/v1/prompts", json={"name": "faults/pg"}).status_code == 201
        assert http.post(versions, json=body).status_code == 201
        resolved = http.get("/v1/prompts/faults/pg/-/resolve", params={"version": 1})
        assert resolved.status_code == 200, resolved.text
        assert http.get("/v1/prompts").status_code == 200
        assert http.get("/readyz").status_code == 200

        proxy.stop()
        started = time.monotonic()
        listed = http.get("/v1/prompts")
        assert assert_unavailable(listed)["detail"] == UNREACHABLE
        assert listed.headers["retry-after"] == str(RETRY_AFTER_UNREACHABLE)
        second = {"template": "Hi {{ name }}", "variables": [{"name": "name"}]}
        assert_unavailable(http.post(versions, json=second))
        assert_unavailable(http.get("/readyz"))
        health = http.get("/healthz")
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        # A refused connection fails at once; nothing waits for a timeout.
        assert time.monotonic() - started < CONNECT_TIMEOUT_S

        proxy.start()
        listed = poll(lambda: http.get("/v1/prompts"), lambda r: r.status_code == 200, seconds=10)
        assert listed.status_code == 200, listed.text
        assert http.get("/readyz").json()["status"] == "ready"
        again = http.get("/v1/prompts/faults/pg/-/resolve", params={"version": 1})
        assert (again.status_code, again.json()) == (200, resolved.json())
        published = http.post(versions, json=second)
        assert (published.status_code, published.json()["number"]) == (201, 2)


REGISTRY_CLI = Path(sys.executable).with_name("registry")
PROMPT = "faults/crash"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def registry_serve(
    database_url: str, tmp_path: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``registry serve`` in a process of its own, as in production; killed at the end.

    ``options`` are more of the command's options (``--workers``, ``2``); ``env`` more
    environment variables."""
    port = free_port()
    log_path = tmp_path / f"serve-{port}.log"
    env = {**os.environ, **(env or {}), "REGISTRY_DATABASE_URL": database_url}
    command = [str(REGISTRY_CLI), "serve", "--no-migrate", "--host", "127.0.0.1", *options]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield process, base
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def publish(http: httpx.Client, n: int) -> tuple[httpx.Response, str]:
    template = f"Hello {{{{ name }}}} number {n}"
    body = {"template": template, "variables": [{"name": "name"}]}
    return http.post(f"/v1/prompts/{PROMPT}/-/versions", json=body), template


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
class TestSqliteKilledServer:
    PUBLISHERS = 4
    BEFORE_KILL = 30

    def test_no_committed_version_is_lost_and_none_is_half_written(self, tmp_path: Path) -> None:
        path = tmp_path / "registry.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        token = admin_token(url)

        with registry_serve(url, tmp_path) as (process, base):
            with httpx.Client(base_url=base, headers=bearer(token), timeout=30) as http:
                assert http.get("/v1/prompts").status_code == 200
                assert http.post("/v1/prompts", json={"name": PROMPT}).status_code == 201
            acknowledged = self.publish_until_killed(process, base, token)

        assert len(acknowledged) >= self.BEFORE_KILL
        self.check_file(path, acknowledged)

        with (
            registry_serve(url, tmp_path) as (_, base),
            httpx.Client(base_url=base, headers=bearer(token), timeout=30) as http,
        ):
            assert http.get(f"/v1/prompts/{PROMPT}").status_code == 200
            newest = max(self.versions(path))
            response, template = publish(http, 0)
            assert response.status_code == 201, response.text
            assert response.json()["number"] == newest + 1
            assert response.json()["template"] == template
        self.check_file(path, {newest + 1: template})

    def publish_until_killed(
        self, process: subprocess.Popen[bytes], base: str, token: str
    ) -> dict[int, str]:
        """Publish from several clients; SIGKILL the server while they are at it.

        Returns the versions whose publish was acknowledged, by number.
        """
        acknowledged: dict[int, str] = {}
        lock = threading.Lock()
        counter = itertools.count(1)

        def publisher() -> None:
            with httpx.Client(base_url=base, headers=bearer(token), timeout=30) as http:
                while True:
                    try:
                        response, template = publish(http, next(counter))
                    except httpx.TransportError:
                        return  # the server is gone
                    assert response.status_code == 201, response.text
                    with lock:
                        acknowledged[response.json()["number"]] = template

        with ThreadPoolExecutor(self.PUBLISHERS) as pool:
            futures = [pool.submit(publisher) for _ in range(self.PUBLISHERS)]
            deadline = time.monotonic() + 120
            while len(acknowledged) < self.BEFORE_KILL:
                assert time.monotonic() < deadline, f"only {len(acknowledged)} publishes"
                assert not any(f.done() for f in futures), [f.result() for f in futures]
                time.sleep(0.01)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            for future in futures:
                future.result()
        return acknowledged

    @staticmethod
    def versions(path: Path) -> dict[int, str]:
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "SELECT v.number, v.template FROM prompt_versions v"
                " JOIN prompts p ON p.id = v.prompt_id WHERE p.name = ?",
                (PROMPT,),
            ).fetchall()
        return dict(rows)

    def check_file(self, path: Path, acknowledged: dict[int, str]) -> None:
        """The file is sound; every acknowledged version is there, whole; none is partial."""
        db = sqlite3.connect(path)
        try:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            versions = self.versions(path)
            newest = max(versions)
            assert sorted(versions) == list(range(1, newest + 1))
            assert {n: versions.get(n) for n in acknowledged} == acknowledged
            # An unacknowledged version may exist (killed between commit and answer), but
            # only with content that a client sent.
            assert all(t.startswith("Hello {{ name }} number ") for t in versions.values())
            (latest,) = db.execute(
                "SELECT latest_version FROM prompts WHERE name = ?", (PROMPT,)
            ).fetchone()
            assert latest == newest
            without_report = db.execute(
                "SELECT v.number FROM prompt_versions v LEFT JOIN version_style_reports r"
                " ON r.version_id = v.id WHERE r.version_id IS NULL"
            ).fetchall()
            assert without_report == []
            audited = db.execute(
                "SELECT target FROM audit_events WHERE action = 'version.publish'"
            ).fetchall()
            assert sorted(audited) == sorted((f"{PROMPT}@{n}",) for n in versions)
        finally:
            db.close()
