"""Resolve and render over HTTP against a trivial FastAPI endpoint, in the same run.

A real uvicorn server (one worker) on 127.0.0.1 serves a SQLite registry seeded with the
demo library; an async httpx loop in this process loads it with one connection (latency)
and with 16 keep-alive connections (throughput). The baseline endpoint is served and
loaded the same way, so the ratios hold on a noisy shared machine.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from registry import migrate
from registry.db import Database
from registry.demo import seed_demo

REQUESTS_SERIAL = 2000
DURATION_CONCURRENT = 5.0
CONNECTIONS = 16
LOCALES = ["fr", "de", "es", "ja", "fr-CA", "en"]
PROMPTS = ["support/greeting", "classify/support-ticket", "support/assistant"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: str, env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory" if app.startswith("registry") else "",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen([c for c in command if c], env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/docs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def serial(url: str, paths: Callable[[int], tuple[str, str, dict | None]]) -> list[float]:
    times = []
    async with httpx.AsyncClient(base_url=url) as client:
        for i in range(REQUESTS_SERIAL):
            method, path, body = paths(i)
            start = time.perf_counter()
            response = await client.request(method, path, json=body)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
    return times


async def concurrent(
    url: str, paths: Callable[[int], tuple[str, str, dict | None]]
) -> tuple[int, list[float]]:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    times: list[float] = []
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:
        deadline = time.monotonic() + DURATION_CONCURRENT

        async def worker(offset: int) -> None:
            i = offset
            while time.monotonic() < deadline:
                method, path, body = paths(i)
                start = time.perf_counter()
                response = await client.request(method, path, json=body)
                times.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
                i += CONNECTIONS

        await asyncio.gather(*(worker(n) for n in range(CONNECTIONS)))
    return len(times), times


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def measure(
    name: str, url: str, paths: Callable[[int], tuple[str, str, dict | None]]
) -> dict[str, float]:
    asyncio.run(serial(url, paths))  # warm up
    one = asyncio.run(serial(url, paths))
    count, many = asyncio.run(concurrent(url, paths))
    figures = {
        "p50_1": pct(one, 50),
        "p99_1": pct(one, 99),
        "rps_16": count / DURATION_CONCURRENT,
        "p50_16": pct(many, 50),
        "p99_16": pct(many, 99),
    }
    print(
        f"{name:<28} 1 conn: p50 {figures['p50_1']:6.2f} ms  p99 {figures['p99_1']:6.2f} ms   "
        f"16 conns: {figures['rps_16']:7.0f} req/s  p50 {figures['p50_16']:6.2f} ms  "
        f"p99 {figures['p99_16']:6.2f} ms"
    )
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate.upgrade(url)
        db = Database.from_url(url)
        with db.session() as session:
            seed_demo(session)
        db.dispose()
        env = {"REGISTRY_DATABASE_URL": url}

        def ping(_: int) -> tuple[str, str, dict | None]:
            return "GET", "/ping", None

        def resolve(i: int) -> tuple[str, str, dict | None]:
            name = PROMPTS[i % len(PROMPTS)]
            locale = LOCALES[i % len(LOCALES)]
            return "GET", f"/v1/prompts/{name}/-/resolve?label=production&locale={locale}", None

        def render(i: int) -> tuple[str, str, dict | None]:
            body = {
                "variables": {"customer_name": "Mia", "open_tickets": i % 3, "brand": "Acme"},
                "locale": "fr-CA",
            }
            return "POST", "/v1/prompts/support/greeting/-/render", body

        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, httpx async load generator"
        )
        with serve("bench.trivial_app:app", env) as base:
            baseline = measure("trivial endpoint", base, ping)
        with serve("registry.app:create_app", env) as registry:
            resolved = measure("resolve (label, locale)", registry, resolve)
            rendered = measure("render (3 vars, include, fallback)", registry, render)
        for name, figures in (("resolve", resolved), ("render", rendered)):
            print(
                f"{name}: throughput {figures['rps_16'] / baseline['rps_16']:.0%} of trivial; "
                f"p50 (1 conn) {figures['p50_1'] / baseline['p50_1']:.2f}x trivial"
            )


if __name__ == "__main__":
    main()
