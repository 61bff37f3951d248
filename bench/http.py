"""Items 1 and 2: resolve and render over HTTP, against a trivial FastAPI endpoint.

A real uvicorn server (one worker) on 127.0.0.1 serves a SQLite registry seeded with the
demo library. The load generator (wrk when installed, else an async httpx loop; see
``bench.load``) loads it with one connection (latency) and with 16 keep-alive
connections (throughput), warm, without caching on the client. The baseline, a trivial
FastAPI endpoint, is served and loaded the same way in the same run, so the ratios hold
on a noisy shared machine. A breakdown of the baseline (bare ASGI, async endpoint, the
registry's middlewares, a health check that opens a session) shows where a request's
time goes before any registry code runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from registry import migrate
from registry.db import Database
from registry.demo import seed_demo
from registry.demo.library import LIBRARY

from bench.load import GENERATOR, Figures, Request, figures_table, measure
from bench.results import Section, Target, print_targets
from bench.server import REGISTRY, serve

CONNECTIONS = 16
SECONDS = 8.0
# Exact matches, a regional fallback (fr-CA → fr), a draft-only locale (it → source), source.
LOCALES = ("fr", "de", "es", "ja", "fr-CA", "it", "en")
PROMPTS = tuple(entry["name"] for entry in LIBRARY)
PING: list[Request] = [("GET", "/ping", None)]


def resolve_requests(
    names: Sequence[str], locales: Sequence[str] = LOCALES, label: str = "production"
) -> list[Request]:
    """Every name with every locale, interleaved so consecutive requests differ in both."""
    return [
        ("GET", f"/v1/prompts/{name}/-/resolve?label={label}&locale={locale}", None)
        for i, locale in enumerate(locales)
        for name in [*names[i % len(names) :], *names[: i % len(names)]]
    ]


def render_requests() -> list[Request]:
    """support/greeting: three variables, the tone component included, fr-CA → fr."""
    return [
        (
            "POST",
            "/v1/prompts/support/greeting/-/render",
            {
                "variables": {"customer_name": name, "open_tickets": tickets, "brand": "Acme"},
                "locale": "fr-CA",
            },
        )
        for name in ("Mia", "Noah", "Léa", "Yuki")
        for tickets in (0, 1, 3)
    ]


def against_baseline(what: str, figures: Figures, baseline: Figures) -> list[Target]:
    """Item 1's two targets for ``figures``, as ratios to the baseline of the same run."""
    throughput = figures.many.rps / baseline.many.rps
    latency = figures.one.p50_ms / baseline.one.p50_ms
    print(
        f"{what}: throughput at {CONNECTIONS} conns {throughput:.0%} of trivial; "
        f"p50 at 1 conn {latency:.2f}x trivial"
    )
    return [
        Target(f"{what}: req/s at {CONNECTIONS} conns ÷ trivial", throughput, 0.5, "%", True),
        Target(f"{what}: p50 at 1 conn ÷ trivial", latency, 3.0, "x"),
    ]


def seeded_sqlite(folder: str) -> str:
    url = f"sqlite:///{Path(folder) / 'demo.db'}"
    migrate.upgrade(url)
    db = Database.from_url(url)
    with db.session() as session:
        seed_demo(session)
    db.dispose()
    return url


def breakdown(env: dict[str, str]) -> list[Figures]:
    """The trivial request taken apart: which layer costs what, before registry code."""
    print("where a trivial request's time goes (same load, shorter runs):")
    rows = []
    with serve("bench.trivial_app:raw") as server:
        rows.append(measure("bare ASGI callable (uvicorn only)", server, PING, seconds=4))
    with serve("bench.trivial_app:app", ready_path="/ping") as server:
        ping_async: list[Request] = [("GET", "/ping-async", None)]
        rows.append(measure("FastAPI async endpoint", server, ping_async, seconds=4))
    with serve("bench.trivial_app:with_middleware", factory=True, ready_path="/ping") as server:
        rows.append(measure("FastAPI sync + registry middlewares", server, PING, seconds=4))
    with serve(REGISTRY, env, ready_path="/healthz") as server:
        health: list[Request] = [("GET", "/healthz", None)]
        rows.append(measure("registry /healthz (session, SELECT 1)", server, health, seconds=4))
    return rows


def main() -> Section:
    print(f"Items 1-2: resolve and render over HTTP; load generator: {GENERATOR}")
    with tempfile.TemporaryDirectory() as folder:
        env = {"REGISTRY_DATABASE_URL": seeded_sqlite(folder)}
        with serve("bench.trivial_app:app", ready_path="/ping") as server:
            baseline = measure("trivial endpoint (baseline)", server, PING, seconds=SECONDS)
        with serve(REGISTRY, env, ready_path="/healthz") as server:
            resolved = measure(
                "resolve (label, locale)", server, resolve_requests(PROMPTS), seconds=SECONDS
            )
            rendered = measure(
                "render (3 vars, include, fr-CA→fr)", server, render_requests(), seconds=SECONDS
            )
        layers = breakdown(env)
    targets = [
        *against_baseline("resolve", resolved, baseline),
        *against_baseline("render", rendered, baseline),
    ]
    print_targets(targets)
    section = Section("1-2. Resolve and render over HTTP (SQLite, one worker)", targets=targets)
    section.markdown += [
        f"Load generator: {GENERATOR}. Demo library on SQLite; resolve rotates "
        f"{len(PROMPTS)} prompts x {len(LOCALES)} locales ({', '.join(LOCALES)}); render is "
        "`support/greeting` with three variables and the tone component, in fr-CA (served "
        f"from fr). {SECONDS:g} s per measurement after a warm-up; server CPU is the uvicorn "
        "process's user + system time per request at 16 connections.",
        "",
        *figures_table([baseline, resolved, rendered], baseline),
        "",
        "Where a trivial request's time goes (shorter runs, same load):",
        "",
        *figures_table([*layers, baseline], baseline),
        "",
        *where_time_goes(baseline, resolved, rendered, layers),
    ]
    return section


def where_time_goes(
    baseline: Figures, resolved: Figures, rendered: Figures, layers: Sequence[Figures]
) -> list[str]:
    """Server CPU per request, layer by layer, from the figures above."""
    raw, fastapi_async, middleware, health = layers
    cpu = {row.name: row.many.cpu_ms_per_request for row in [*layers, baseline]}
    steps = [
        ("uvicorn + h11 (bare ASGI)", cpu[raw.name]),
        ("FastAPI routing, validation, JSON (async)", cpu[fastapi_async.name] - cpu[raw.name]),
        ("threadpool hop of a sync endpoint", cpu[baseline.name] - cpu[fastapi_async.name]),
        ("the registry's two middlewares", cpu[middleware.name] - cpu[baseline.name]),
        ("a session, a transaction and SELECT 1", cpu[health.name] - cpu[baseline.name]),
        (
            "resolve beyond the trivial endpoint",
            resolved.many.cpu_ms_per_request - cpu[baseline.name],
        ),
        (
            "render beyond the trivial endpoint",
            rendered.many.cpu_ms_per_request - cpu[baseline.name],
        ),
    ]
    lines = ["Server CPU per request, by layer (differences of the rows above, ms):", ""]
    lines += [f"- {what}: {ms:+.3f} ms" for what, ms in steps]
    return lines


if __name__ == "__main__":
    main()
