"""Items 1 and 2: resolve and render over HTTP, against a trivial FastAPI endpoint.

A real uvicorn server (one worker) on 127.0.0.1 serves a SQLite registry seeded with the
demo library; every request carries a reader's API key, which the registry looks up and
verifies on each request. The load generator (wrk when installed, else an async httpx loop; see
``bench.load``) loads it with one connection (latency) and with 16 keep-alive
connections (throughput), warm, without caching on the client. The baseline, a trivial
FastAPI endpoint that checks no key, is served and loaded the same way, in turns with the
registry (see ``bench.load.compare``), so the ratios hold on a noisy shared machine. A
breakdown of the baseline (bare ASGI, async endpoint, the registry's middlewares, the
readiness probe that opens a session, the cheapest read with a key) shows where a
request's time goes before any prompt is resolved, and the SQL of one resolve and one
render shows what the database is asked.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from registry import migrate
from registry.db import Database
from registry.demo import seed_demo
from registry.demo.library import LIBRARY

from bench.load import GENERATOR, Figures, Request, Subject, compare, figures_table
from bench.plans import explain
from bench.results import Section, Target, print_targets
from bench.server import REGISTRY, Server, create_key, serve

CONNECTIONS = 16
SECONDS = 3.0
ROUNDS = 3
# Exact matches, a regional fallback (fr-CA → fr), a draft-only locale (it → source), source.
LOCALES = ("fr", "de", "es", "ja", "fr-CA", "it", "en")
PROMPTS = tuple(entry["name"] for entry in LIBRARY)
PING: list[Request] = [("GET", "/ping", None)]
READY: list[Request] = [("GET", "/readyz", None)]
POLICIES: list[Request] = [("GET", "/v1/label-policies", None)]


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


@dataclass(frozen=True)
class Revalidating(Server):
    """The registry, loaded with requests that carry ``If-None-Match`` too (an SDK
    revalidating its copy)."""

    if_none_match: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {**super().headers, "If-None-Match": self.if_none_match}


# One resolve, asked again and again: answered in full, and to a caller holding its ETag.
CONDITIONAL: list[Request] = [
    ("GET", "/v1/prompts/support/greeting/-/resolve?label=production&locale=fr", None)
]


def revalidation(registry: Server) -> list[Figures]:
    """The same resolve answered 200 and, to a caller holding its ETag, 304."""
    path = CONDITIONAL[0][1]
    answer = httpx.get(registry.url + path, headers=registry.headers)
    answer.raise_for_status()
    holder = Revalidating(**vars(registry), if_none_match=answer.headers["etag"])
    return compare(
        [
            Subject("resolve, one prompt, 200", registry, CONDITIONAL),
            Subject("the same resolve, 304 (If-None-Match)", holder, CONDITIONAL),
        ],
        rounds=ROUNDS,
        seconds=SECONDS,
    )


def against_baseline(
    what: str, figures: Figures, baseline: Figures, rate: float = 0.5, latency_x: float = 3.0
) -> list[Target]:
    """Two targets for ``figures``, as ratios to the baseline of the same run: req/s at
    16 connections at least ``rate`` of it, p50 at one connection at most ``latency_x``."""
    throughput = figures.many.rps / baseline.many.rps
    latency = figures.one.p50_ms / baseline.one.p50_ms
    print(
        f"{what}: throughput at {CONNECTIONS} conns {throughput:.0%} of trivial; "
        f"p50 at 1 conn {latency:.2f}x trivial"
    )
    return [
        Target(f"{what}: req/s at {CONNECTIONS} conns ÷ trivial", throughput, rate, "%", True),
        Target(f"{what}: p50 at 1 conn ÷ trivial", latency, latency_x, "x"),
    ]


def seeded_sqlite(folder: str) -> tuple[str, str]:
    """The demo library in a new SQLite file, and a reader's key to it."""
    url = f"sqlite:///{Path(folder) / 'demo.db'}"
    migrate.upgrade(url)
    db = Database.from_url(url)
    with db.session() as session:
        seed_demo(session)
    db.dispose()
    return url, create_key(url, "reader")


def breakdown(env: dict[str, str], token: str) -> list[Figures]:
    """The trivial request taken apart: which layer costs what, before registry code."""
    print("where a trivial request's time goes:")
    with ExitStack() as servers:
        raw = servers.enter_context(serve("bench.trivial_app:raw"))
        app = servers.enter_context(serve("bench.trivial_app:app", ready_path="/ping"))
        wrapped = servers.enter_context(
            serve("bench.trivial_app:with_middleware", factory=True, ready_path="/ping")
        )
        registry = servers.enter_context(serve(REGISTRY, env, token=token))
        return compare(
            [
                Subject("bare ASGI callable (uvicorn only)", raw, PING),
                Subject("FastAPI, async endpoint", app, [("GET", "/ping-async", None)]),
                Subject("FastAPI, sync endpoint (the baseline)", app, PING),
                Subject("FastAPI sync + registry middlewares", wrapped, PING),
                Subject("FastAPI sync + a commit's trip", app, [("GET", "/ping-deps", None)]),
                Subject("registry /readyz (no key; a session, SELECT 1)", registry, READY),
                Subject("registry /v1/label-policies (key, 1 SELECT)", registry, POLICIES),
            ],
            rounds=2,
            seconds=3,
        )


def main() -> Section:
    print(f"Items 1-2: resolve and render over HTTP; load generator: {GENERATOR}")
    with tempfile.TemporaryDirectory() as folder:
        url, token = seeded_sqlite(folder)
        env = {"REGISTRY_DATABASE_URL": url}
        with (
            serve("bench.trivial_app:app", ready_path="/ping") as trivial,
            serve(REGISTRY, env, token=token) as registry,
        ):
            baseline, resolved, rendered = compare(
                [
                    Subject("trivial endpoint (baseline)", trivial, PING),
                    Subject("resolve (label, locale)", registry, resolve_requests(PROMPTS)),
                    Subject("render (3 vars, include, fr-CA→fr)", registry, render_requests()),
                ],
                rounds=ROUNDS,
                seconds=SECONDS,
            )
            conditional = revalidation(registry)
        layers = breakdown(env, token)
        resolve_sql = explain(url, token, *resolve_requests(PROMPTS)[:2])
        render_sql = explain(url, token, *render_requests()[:2])
    print("SQL of one resolve (time, statement, plan):", *resolve_sql, sep="\n  ")
    print("SQL of one render (time, statement, plan):", *render_sql, sep="\n  ")
    full, not_modified = conditional
    cost = full.many.rps / not_modified.many.rps
    print(f"a 304 costs {cost:.2f} of a full resolve (req/s at {CONNECTIONS} conns)")
    targets = [
        # One serving path (#17): at least the trivial endpoint's rate, at most its p50.
        *against_baseline("resolve", resolved, baseline, rate=1.0, latency_x=1.0),
        *against_baseline("render", rendered, baseline),
        Target(f"304 ÷ full resolve, server time at {CONNECTIONS} conns", cost, 0.5, "x"),
    ]
    print_targets(targets)
    section = Section("1-2. Resolve and render over HTTP (SQLite, one worker)", targets=targets)
    section.markdown += [
        f"Load generator: {GENERATOR}. Demo library on SQLite; resolve rotates "
        f"{len(PROMPTS)} prompts x {len(LOCALES)} locales ({', '.join(LOCALES)}); render is "
        "`support/greeting` with three variables and the tone component, in fr-CA (served "
        f"from fr). The three are measured in turns after a warm-up: {ROUNDS} rounds of "
        f"{SECONDS:g} s for each connection count; a latency is the median of the rounds'. "
        "Server CPU is the uvicorn process's user + system time per answered request. "
        "Every registry request sends a reader's API key (`Authorization: Bearer …`), so "
        "the registry's figures include the key's verification on every request (an "
        "indexed lookup and a salted SHA-256; the key's last use is written at most once a "
        "minute); the trivial endpoint checks no key.",
        "",
        *figures_table([baseline, resolved, rendered], baseline),
        "",
        "A revalidation: one resolve asked again and again, answered in full and, to a "
        "caller that sends its ETag in `If-None-Match`, with 304:",
        "",
        *figures_table(conditional, full, "full"),
        "",
        "Where a trivial request's time goes (the same load, in turns, 2 rounds of 3 s):",
        "",
        *figures_table(layers, layers[2], "sync endpoint"),
        "",
        *where_time_goes(baseline, resolved, rendered, layers),
        "",
        f"SQL of one resolve (`{resolve_requests(PROMPTS)[1][1]}`) and of one render, in "
        "process, after another request: each SELECT's time (run again alone, to its last "
        "row) and SQLite's plan."
        + (
            " The render opens a write transaction (`BEGIN IMMEDIATE`): renders queue for "
            "SQLite's one write lock."
            if any("BEGIN IMMEDIATE" in line for line in render_sql)
            else ""
        ),
        "",
        "```",
        "resolve:",
        *resolve_sql,
        "render:",
        *render_sql,
        "```",
    ]
    return section


def where_time_goes(
    baseline: Figures, resolved: Figures, rendered: Figures, layers: Sequence[Figures]
) -> list[str]:
    """Server CPU per request at one connection, layer by layer, from the figures above."""
    raw, fastapi_async, fastapi_sync, middleware, dependencies, ready, keyed = (
        row.one.cpu_ms_per_request for row in layers
    )
    trivial = baseline.one.cpu_ms_per_request
    steps = [
        ("uvicorn and its HTTP parser (bare ASGI)", raw),
        ("FastAPI routing, validation, JSON (async endpoint)", fastapi_async - raw),
        ("the threadpool hop of a sync endpoint", fastapi_sync - fastapi_async),
        ("the registry's two middlewares", middleware - fastapi_sync),
        (
            "a second trip to the thread pool, as the registry's session dependency makes to "
            "commit",
            dependencies - fastapi_sync,
        ),
        (
            "/readyz over the middlewares: the registry's routing, a session of its own, a "
            "transaction, SELECT 1 (no key)",
            ready - middleware,
        ),
        (
            "/v1/label-policies over /readyz: the key's dependencies and check (an indexed "
            "lookup and a salted SHA-256, in the route's own trip to the thread pool), the "
            "request's session and the trip of its commit, one SELECT of an empty table",
            keyed - ready,
        ),
        ("resolve beyond the trivial endpoint", resolved.one.cpu_ms_per_request - trivial),
        ("render beyond the trivial endpoint", rendered.one.cpu_ms_per_request - trivial),
    ]
    lines = [
        "Server CPU per request at one connection, layer by layer (differences of the rows "
        "above; the resolve and render lines compare with the baseline of the first table):",
        "",
    ]
    lines += [f"- {what}: {ms:+.3f} ms" for what, ms in steps]
    return lines


if __name__ == "__main__":
    main()
