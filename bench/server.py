"""Real uvicorn servers on 127.0.0.1, their processes, API keys, and throwaway PostgreSQL
databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REGISTRY = "registry.app:create_app"
# The registry's readiness probe: it answers once the database does, without a key.
READY = "/readyz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_key(url: str, role: str = "reader") -> str:
    """A new API key in the database at ``url``, committed before any server starts; its
    token. Readers resolve and render, as an application's key does; writes take more."""
    from registry.access import keys
    from registry.access.schemas import KeyCreate
    from registry.db import Database

    db = Database.from_url(url)
    try:
        with db.session() as session:
            data = KeyCreate(owner=f"bench-{role}", role=role, description="made by bench/")
            return keys.create_key(session, data, created_by="bench").token
    finally:
        db.dispose()


def bearer(token: str | None) -> dict[str, str]:
    """The header that carries ``token``; none for a server that needs no key."""
    return {} if token is None else {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Server:
    """A running uvicorn: its URL, the pid of the process started (the master with
    ``--workers``, else the one process that serves), and the API key its load sends
    (None for the baselines, which check none)."""

    url: str
    port: int
    pid: int
    workers: int
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    def serving_pids(self) -> list[int]:
        """The processes that answer requests: the workers, or the one process."""
        if self.workers == 1:
            return [self.pid]
        return [pid for pid in descendants(self.pid) if _listens(pid, self.port)]

    def peak_rss_mb(self) -> list[float]:
        """VmHWM of each serving process, in MB."""
        return [peak_rss_mb(pid) for pid in self.serving_pids()]

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the serving processes so far."""
        return sum(cpu_seconds(pid) for pid in self.serving_pids())


@contextmanager
def serve(
    app: str,
    env: dict[str, str] | None = None,
    *,
    workers: int = 1,
    factory: bool | None = None,
    nodelay: bool = False,
    ready_path: str | None = None,
    token: str | None = None,
) -> Iterator[Server]:
    """Run ``app`` under uvicorn until the block ends; the registry's app is a factory.

    ``nodelay`` runs uvicorn through ``bench.uvicorn_nodelay``, which restores TCP_NODELAY
    on the connections of ``--workers`` (one worker has it anyway) as ``registry serve``
    does. ``token`` is the API key the load sends (see :func:`create_key`). The server is
    ready when ``ready_path`` (the registry's ``/readyz`` by default) answers below 500.
    """
    port = free_port()
    command = [sys.executable, "-m", "bench.uvicorn_nodelay" if nodelay else "uvicorn", app]
    if factory or (factory is None and app == REGISTRY):
        command.append("--factory")
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += ["--no-access-log"]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})})
    server = Server(f"http://127.0.0.1:{port}", port, process.pid, workers, token)
    try:
        _wait_ready(server, process, ready_path or (READY if app == REGISTRY else "/"))
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: Server, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            answer = httpx.get(server.url + path, timeout=2)
        except httpx.HTTPError:
            time.sleep(0.1)
            continue
        if answer.status_code >= 500:  # /readyz: the database does not answer yet
            time.sleep(0.1)
            continue
        # Every worker imports the app on its own; wait until each one listens.
        if len(server.serving_pids()) >= server.workers:
            return
        time.sleep(0.1)
    raise RuntimeError("the server did not start within 60 s")


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as file:
                    children = [int(c) for c in file.read().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as file:
        for row in file:
            if row.startswith(field + ":"):
                return int(row.split()[1])
    return 0


def peak_rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmHWM") / 1024


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rpartition(")")[2].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _tcp_sockets() -> list[tuple[int, int, str, int]]:
    """(local port, remote port, state, inode) of every IPv4 TCP socket in this namespace."""
    rows = []
    with open("/proc/net/tcp") as file:
        next(file)
        for row in file:
            fields = row.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
            rows.append((int(local.split(":")[1], 16), int(remote.split(":")[1], 16), state, inode))
    return rows


def _listens(pid: int, port: int) -> bool:
    listening = {inode for lp, _, state, inode in _tcp_sockets() if lp == port and state == "0A"}
    return bool(listening & socket_inodes(pid))


def owner_of_connection(server: Server, client_port: int) -> int | None:
    """Which serving process holds the server side of the connection from ``client_port``.

    Read from /proc while the connection is open, so the server needs no change.
    """
    inodes = {
        inode
        for local, remote, _, inode in _tcp_sockets()
        if local == server.port and remote == client_port
    }
    for pid in server.serving_pids():
        if inodes & socket_inodes(pid):
            return pid
    return None


def postgres_available() -> bool:
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def postgres_version() -> str:
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the block; dropped afterwards."""
    name = f"bench_{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def database_size_mb(url: str) -> float:
    """The size of the database: the SQLite file and its WAL, or pg_database_size."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        files = [path, path.with_name(path.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / 1e6
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        return int(size) / 1e6
    finally:
        engine.dispose()
