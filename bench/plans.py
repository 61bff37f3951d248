"""The SQL one request runs, with each statement's time and SQLite's query plan.

The registry's app runs in this process (httpx's ASGI transport), the requests carry an
API key as over HTTP, and SQLite's trace callback on each of the engine's connections
records every statement as run, with its parameters' values in place: the key's lookup
too, and the serving path's reads that skip SQLAlchemy's cursor events. Each SELECT is
then run again on its own sqlite3 connection to the same file and timed to its last row
(the median of three runs), and ``EXPLAIN QUERY PLAN`` gives its plan. A ``SCAN`` of a
table, rather than a ``SEARCH`` through an index, is a cost that grows with the registry.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import make_url

from registry.app import create_app
from registry.config import Settings

from bench.load import Request
from bench.server import bearer

_COLUMNS = re.compile(r"^SELECT .*? FROM ", re.DOTALL)


def statements(url: str, token: str, warmup: Request, request: Request) -> list[str]:
    """The SQL of each statement ``request`` runs, after ``warmup`` has run.

    The warm-up also records the key's use, which a key's next requests within a minute
    do not write again.
    """
    app = create_app(Settings(database_url=url))
    engine = app.state.db.engine
    seen: list[str] = []

    def traced(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(seen.append)

    async def get() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=bearer(token)
        ) as client:
            for method, path, body in (warmup, request):
                seen.clear()
                (await client.request(method, path, json=body)).raise_for_status()

    event.listen(engine, "connect", traced)
    try:
        asyncio.run(get())
    finally:
        app.state.db.dispose()
    return seen


def explain(url: str, token: str, warmup: Request, request: Request) -> list[str]:
    """One line per statement: time, SQL without its column list, and the plan's steps."""
    database = make_url(url).database or ""
    lines = []
    with sqlite3.connect(database) as conn:
        for sql in statements(url, token, warmup, request):
            if not sql.lstrip().upper().startswith("SELECT"):
                lines.append(f"{'':>10}  {sql}")
                continue
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                conn.execute(sql).fetchall()
                runs.append(time.perf_counter() - started)
            plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            steps = "; ".join(str(row[-1]) for row in plan)
            full_scan = " FULL SCAN" if re.search(r"\bSCAN \w+(?! USING)", steps) else ""
            short = _COLUMNS.sub("SELECT … FROM ", " ".join(sql.split()))
            lines.append(f"{sorted(runs)[1] * 1000:7.2f} ms  {short}  [{steps}]{full_scan}")
    return lines
