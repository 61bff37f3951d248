"""`registry serve --workers N`: Nagle's algorithm is off on every worker's connections.

uvicorn's own multi-worker mode leaves it on (https://github.com/Kludex/uvicorn/issues/3149),
which costs every keep-alive request ~40 ms; `registry serve` binds its socket through
``registry.server``. The served test reads the option off a connection a worker
accepted, through a duplicate of the worker's descriptor (pidfd_getfd), not a timing.
"""

from __future__ import annotations

import ctypes
import errno
import http.client
import os
import pickle
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import pytest

from registry.server import NoDelayConfig, tcp_socket

SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture


def test_tcp_socket_restores_the_protocol_and_sets_nodelay() -> None:
    with socket.socket(socket.AF_INET) as plain:
        assert plain.proto == 0  # what uvicorn binds, and asyncio leaves alone
        fixed = tcp_socket(plain)
        with fixed:
            assert fixed.proto == socket.IPPROTO_TCP
            assert fixed.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            # The workers receive the socket pickled; its protocol goes along.
            copy = pickle.loads(ForkingPickler.dumps(fixed))
            with copy:
                assert copy.proto == socket.IPPROTO_TCP


def test_no_delay_config_binds_an_ipproto_tcp_socket() -> None:
    config = NoDelayConfig("registry.app:create_app", factory=True, host="127.0.0.1", port=0)
    with config.bind_socket() as sock:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _descendants(pid: int) -> list[int]:
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
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except OSError:
                continue
            found += [int(child) for child in children]
            todo += [int(child) for child in children]
    return found


def _server_side(port: int, client_port: int) -> int:
    """The inode of the server's end of the connection from ``client_port``."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    for row in rows:
        fields = row.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        if local == port and remote == client_port:
            return int(fields[9])
    raise AssertionError(f"no server socket for the connection from port {client_port}")


def _holder(pids: list[int], inode: int) -> tuple[int, int]:
    """The (pid, descriptor) through which one of ``pids`` holds socket ``inode``."""
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid, int(fd)
            except OSError:
                continue
    raise AssertionError(f"no worker holds socket {inode}")


def _duplicate(pid: int, fd: int) -> socket.socket | None:
    """Another process's socket, duplicated into this one; None where Linux refuses."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        duplicate = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
    finally:
        os.close(pidfd)
    if duplicate < 0:
        if ctypes.get_errno() in (errno.ENOSYS, errno.EPERM, errno.EACCES):
            return None
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return socket.socket(fileno=duplicate)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`registry serve --workers 2` on a new SQLite file, until both workers answer."""
    port = _free_port()
    env = {**os.environ, "REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    command = [sys.executable, "-c", "from registry.cli import app; app()", "serve"]
    command += ["--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"registry serve exited with {process.returncode}"
            assert time.monotonic() < deadline, "registry serve did not answer within 90 s"
            workers = [pid for pid in _descendants(process.pid) if _is_worker(pid)]
            if len(workers) >= 2 and _answers(port):
                break
            time.sleep(0.2)
        yield process, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _is_worker(pid: int) -> bool:
    try:
        return b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def test_multi_worker_serve_answers_keep_alive_requests_without_nagle(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        # Two requests on one keep-alive connection: the second is the one Nagle delays.
        for _ in range(2):
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
        assert conn.sock is not None
        inode = _server_side(port, conn.sock.getsockname()[1])
        pid, fd = _holder(_descendants(process.pid), inode)
        accepted = _duplicate(pid, fd)
        if accepted is not None:
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            return
        # Linux would not lend the descriptor: tell it by the delay Nagle adds instead,
        # ~40 ms per request against a few milliseconds.
        started = time.perf_counter()
        for _ in range(20):
            conn.request("GET", "/healthz")
            conn.getresponse().read()
        assert time.perf_counter() - started < 20 * 0.040 / 2
    finally:
        conn.close()
