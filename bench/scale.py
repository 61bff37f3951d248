"""Item 3: the same resolve on a registry of 100 prompts and of 10,000 x 5 versions x 5 locales.

Each registry is a new SQLite file filled in bulk by ``bench.dataset`` and served by its
own uvicorn worker; both run at once and are loaded in turns as in item 1. The requests
rotate through every prompt of the registry in a shuffled order, each in several locales
(exact, regional fallback, source fallback), so at 10,000 prompts most requests of a run
ask for a prompt the server has not served before: in-process caches help only as far as
they hold the whole registry. A third subject rotates through 100 prompts of the large
registry only, which tells the cost of the database's size apart from the cost of cache
misses. Two more servers answer the same rotations with kept answers turned off
(``REGISTRY_ANSWER_CACHE_BYTES=0``): the database path alone. The servers' peak RSS
(VmHWM) is read from /proc after the runs, and the SQL of one resolve is shown with
SQLite's plans.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.dataset import TRANSLATED, Built, build, prompt_name
from bench.http import PING, resolve_requests
from bench.load import GENERATOR, Request, Subject, compare, figures_table
from bench.plans import explain
from bench.results import Section, Target, print_targets, table
from bench.server import REGISTRY, create_key, database_size_mb, serve

SIZES = (100, 10_000)
# Exact, regional fallback (de-AT → de), exact, exact, exact, source fallback (pt-BR → en).
LOCALES = ("fr", "de-AT", "es", "ja", "it", "pt-BR")
HOT = 100
SECONDS = 3.0
ROUNDS = 3


@dataclass(frozen=True)
class Registry:
    """One registry of the comparison: how it was built and what one resolve queries."""

    url: str
    token: str
    built: Built
    size_mb: float
    names: list[str]
    plans: list[str]


def names(count: int) -> list[str]:
    shuffled = [prompt_name(i) for i in range(count)]
    random.Random(count).shuffle(shuffled)
    return shuffled


def _resolve(name: str) -> Request:
    return ("GET", f"/v1/prompts/{name}/-/resolve?label=production&locale={LOCALES[1]}", None)


def make_registry(folder: str, count: int) -> Registry:
    url = f"sqlite:///{Path(folder) / f'scale-{count}.db'}"
    built = build(url, count)
    size = database_size_mb(url)
    print(
        f"{count:,} prompts: {built.versions:,} versions, {built.translations:,} translations, "
        f"{built.rows:,} rows written in {built.seconds:.1f} s; database {size:,.0f} MB"
    )
    token = create_key(url, "reader")
    every = names(count)
    plans = explain(url, token, _resolve(every[0]), _resolve(every[1]))
    print(f"SQL of one resolve, in process, on {count:,} prompts (time, statement, plan):")
    for line in plans:
        print("  " + line)
    return Registry(url, token, built, size, every, plans)


def main() -> Section:
    print(f"Item 3: resolve at scale (SQLite, one worker); load generator: {GENERATOR}")
    with tempfile.TemporaryDirectory() as folder:
        small, large = (make_registry(folder, count) for count in SIZES)
        small_env = {"REGISTRY_DATABASE_URL": small.url}
        large_env = {"REGISTRY_DATABASE_URL": large.url}
        off = {"REGISTRY_ANSWER_CACHE_BYTES": "0"}
        with (
            serve("bench.trivial_app:app", ready_path="/ping") as trivial,
            serve(REGISTRY, small_env, token=small.token) as one,
            serve(REGISTRY, large_env, token=large.token) as two,
            serve(REGISTRY, {**small_env, **off}, token=small.token) as three,
            serve(REGISTRY, {**large_env, **off}, token=large.token) as four,
        ):
            rss_start = [one.peak_rss_mb()[0], two.peak_rss_mb()[0]]
            baseline, spread_small, spread_large, hot, small_off, large_off = compare(
                [
                    Subject("trivial endpoint (baseline)", trivial, PING),
                    Subject(
                        f"resolve, {SIZES[0]:,} prompts, all of them",
                        one,
                        resolve_requests(small.names, LOCALES),
                    ),
                    Subject(
                        f"resolve, {SIZES[1]:,} prompts, all of them",
                        two,
                        resolve_requests(large.names, LOCALES),
                    ),
                    Subject(
                        f"resolve, {SIZES[1]:,} prompts, {HOT} of them",
                        two,
                        resolve_requests(large.names[:HOT], LOCALES),
                    ),
                    Subject(
                        f"resolve, {SIZES[0]:,} prompts, all, no kept answers",
                        three,
                        resolve_requests(small.names, LOCALES),
                    ),
                    Subject(
                        f"resolve, {SIZES[1]:,} prompts, all, no kept answers",
                        four,
                        resolve_requests(large.names, LOCALES),
                    ),
                ],
                rounds=ROUNDS,
                seconds=SECONDS,
                warmup=3,
            )
            rss_peak = [one.peak_rss_mb()[0], two.peak_rss_mb()[0]]
    for registry, start, peak in zip((small, large), rss_start, rss_peak, strict=True):
        print(
            f"{registry.built.prompts:,} prompts: server RSS {start:.0f} MB at start, "
            f"peak {peak:.0f} MB"
        )
    ratio = spread_large.one.p50_ms / spread_small.one.p50_ms
    print(f"p50 at 1 conn, {SIZES[1]:,} ÷ {SIZES[0]}: {ratio:.2f}x")
    ratio_off = large_off.one.p50_ms / small_off.one.p50_ms
    print(f"p50 at 1 conn, {SIZES[1]:,} ÷ {SIZES[0]}, no kept answers on either: {ratio_off:.2f}x")
    first = spread_large.one.p50_ms / baseline.one.p50_ms
    print(f"p50 at 1 conn, {SIZES[1]:,} prompts (mostly not kept yet) ÷ trivial: {first:.2f}x")
    targets = [
        Target(f"scale: p50 at 1 conn, {SIZES[1]:,} ÷ {SIZES[0]} prompts", ratio, 1.3, "x"),
        Target(
            f"scale: p50 at 1 conn, {SIZES[1]:,} prompts, first resolves ÷ trivial", first, 2.0, "x"
        ),
        Target(f"scale: server peak RSS at {SIZES[1]:,} prompts", rss_peak[1], 300, "MB"),
    ]
    print_targets(targets)
    figures = [baseline, spread_small, spread_large, hot, small_off, large_off]
    sizes = [
        [
            f"{registry.built.prompts:,}",
            f"{registry.built.versions:,}",
            f"{registry.built.translations:,}",
            f"{registry.built.rows:,}",
            f"{registry.built.seconds:.1f} s",
            f"{registry.size_mb:,.1f} MB",
            f"{start:.0f} MB",
            f"{peak:.0f} MB",
        ]
        for registry, start, peak in zip((small, large), rss_start, rss_peak, strict=True)
    ]
    section = Section(
        "3. Scale: 100 prompts against 10,000 x 5 versions x 5 locales", targets=targets
    )
    section.markdown += [
        f"Load generator: {GENERATOR}. Resolve by `label=production` rotating every prompt of "
        f"the registry (shuffled) x {len(LOCALES)} locales ({', '.join(LOCALES)}); "
        f"translations exist in {', '.join(TRANSLATED)}. Ten prompts are components that every "
        "other prompt includes. Every request sends a reader's API key, verified on each "
        "request. SQLite, one worker per registry; both servers run at once "
        f"and are measured in turns after a warm-up, {ROUNDS} rounds of {SECONDS:g} s for "
        f'each connection count. The row "{HOT} of them" rotates {HOT} prompts of the large '
        "registry: the cost of the database's size without the cost of cache misses.",
        "",
        "Each process keeps the answers it gave (REGISTRY_ANSWER_CACHE_BYTES, 32 MiB) and "
        f"answers a repeated request from memory after checking the key and the prompts' "
        f"revisions. All {SIZES[0] * len(LOCALES)} requests to the small registry fit; the "
        f"{SIZES[1] * len(LOCALES):,} of the large one, rotated from a random place, are "
        "mostly asked for the first time in a run, so nearly every one of them is computed "
        "afresh (the key checked on the event loop, then the resolve read in a worker "
        "thread's read transaction): the target's ratio compares answers from memory "
        "with answers from the database, and the first-resolve target compares these with "
        "the trivial endpoint, measured in the same turns. The two rows without kept "
        "answers (two more servers, REGISTRY_ANSWER_CACHE_BYTES=0) are the database path "
        f"alone, {ratio_off:.2f}x.",
        "",
        *figures_table(figures, spread_small, f"{SIZES[0]} prompts"),
        "",
        *table(
            [
                "prompts",
                "versions",
                "translations",
                "rows written",
                "bulk load",
                "database",
                "server RSS at start",
                "server peak RSS (VmHWM)",
            ],
            sizes,
        ),
    ]
    for registry in (small, large):
        section.markdown += [
            "",
            f"SQL of one resolve (`locale={LOCALES[1]}`, a prompt not resolved before in the "
            f"process) on {registry.built.prompts:,} prompts: each SELECT's time (run again "
            "alone, to its last row), the statement, SQLite's plan; FULL SCAN marks a table "
            "read from end to end:",
            "",
            "```",
            *registry.plans,
            "```",
        ]
    return section


if __name__ == "__main__":
    main()
