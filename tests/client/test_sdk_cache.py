"""The SDK's cache: TTL, stale-while-revalidate with ETags, LRU bound, invalidation, threads."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry import Client
from registry.db import Database
from registry.demo import seed_demo
from registry.demo.library import LIBRARY

from conftest import admin_token, live_server
from factories import make_prompt, publish

TTL = 60.0


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Traffic:
    """Every request the SDK sent, with the status it got."""

    seen: list[tuple[str, str, int, dict[str, str]]] = field(default_factory=list)

    def record(self, response: httpx.Response) -> None:
        request = response.request
        self.seen.append(
            (request.method, request.url.path, response.status_code, dict(request.headers))
        )

    def resolves(self) -> list[tuple[str, int, dict[str, str]]]:
        return [(path, status, h) for _m, path, status, h in self.seen if "/-/resolve" in path]


def join_refreshes() -> None:
    """Wait for the SDK's background refresh threads."""
    for thread in threading.enumerate():
        if thread.name == "registry-refresh":
            thread.join(timeout=10)


@pytest.fixture
def demo(session: Session, client: TestClient) -> TestClient:
    seed_demo(session)
    return client


@pytest.fixture
def traffic(demo: TestClient) -> Iterator[Traffic]:
    log = Traffic()
    demo.event_hooks = {"request": [], "response": [log.record]}
    yield log
    demo.event_hooks = {"request": [], "response": []}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sdk(demo: TestClient, clock: FakeClock) -> Iterator[Client]:
    with Client(http_client=demo, cache_ttl=TTL, clock=clock) as sdk:
        yield sdk
    join_refreshes()


class TestFreshness:
    def test_a_cached_prompt_makes_no_request(self, sdk: Client, traffic: Traffic) -> None:
        first = sdk.get("support/greeting", locale="fr")
        for _ in range(50):
            assert sdk.get("support/greeting", locale="fr") is first
        assert len(traffic.resolves()) == 1

    def test_the_key_holds_label_version_locale_and_options(
        self, sdk: Client, traffic: Traffic
    ) -> None:
        variants: list[dict[str, Any]] = [
            {},
            {"label": "staging"},
            {"version": 1},
            {"locale": "fr"},
            {"locale": ["fr", "de"]},
            {"allow_stale": True},
            {"preview": True},
        ]
        for options in variants * 2:
            sdk.get("summarize/article", **options)
        assert len(traffic.resolves()) == len(variants)

    def test_label_moved_while_cached_shows_after_the_ttl(
        self, sdk: Client, demo: TestClient, clock: FakeClock
    ) -> None:
        assert sdk.get("summarize/article").version == 1
        moved = demo.put("/v1/prompts/summarize/article/-/labels/production", json={"version": 2})
        assert moved.status_code == 200
        clock.advance(TTL - 1)
        assert sdk.get("summarize/article").version == 1  # still fresh
        clock.advance(2)
        # Stale: served at once while one background refresh fetches the new version.
        assert sdk.get("summarize/article").version == 1
        join_refreshes()
        assert sdk.get("summarize/article").version == 2

    def test_unchanged_prompt_revalidates_with_a_304(
        self, sdk: Client, clock: FakeClock, traffic: Traffic
    ) -> None:
        first = sdk.get("support/greeting", locale="de")
        clock.advance(TTL + 1)
        assert sdk.get("support/greeting", locale="de") is first
        join_refreshes()
        (_, status1, headers1), (_, status2, headers2) = traffic.resolves()
        assert (status1, status2) == (200, 304)
        assert "if-none-match" not in headers1
        assert headers2["if-none-match"] == first.etag
        # The 304 made the entry fresh again: no request until the next TTL ends.
        assert sdk.get("support/greeting", locale="de") is first
        assert len(traffic.resolves()) == 2
        clock.advance(TTL + 1)
        sdk.get("support/greeting", locale="de")
        join_refreshes()
        assert [status for _, status, _ in traffic.resolves()] == [200, 304, 304]

    def test_one_refresh_per_key_however_many_callers(
        self, sdk: Client, demo: TestClient, clock: FakeClock, traffic: Traffic
    ) -> None:
        first = sdk.get("support/greeting")
        clock.advance(TTL + 1)
        gate = threading.Event()

        def hold(request: httpx.Request) -> None:
            gate.wait(timeout=10)

        demo.event_hooks = {"request": [hold], "response": [traffic.record]}
        with ThreadPoolExecutor(max_workers=8) as pool:
            served = list(pool.map(lambda _: sdk.get("support/greeting"), range(200)))
        assert all(prompt is first for prompt in served)
        gate.set()
        join_refreshes()
        assert len(traffic.resolves()) == 2

    def test_pinned_immutable_version_is_kept_for_the_process(
        self, session: Session, sdk: Client, clock: FakeClock, traffic: Traffic
    ) -> None:
        name = make_prompt(session)
        publish(session, name=name, template="Bye {{ who }}")
        assert sdk.get(name, version=1).render(who="Ada") == "Hello Ada"
        clock.advance(365 * 24 * 3600)
        assert sdk.get(name, version=1).render(who="Ada") == "Hello Ada"
        join_refreshes()
        assert len(traffic.resolves()) == 1
        # A label is not immutable: it revalidates once its TTL is over.
        sdk.get(name, label="latest")
        clock.advance(TTL + 1)
        sdk.get(name, label="latest")
        join_refreshes()
        assert len(traffic.resolves()) == 3


class TestSizeAndInvalidation:
    def test_least_recently_used_prompt_is_evicted(
        self, demo: TestClient, traffic: Traffic
    ) -> None:
        sdk = Client(http_client=demo, cache_size=2)
        sdk.get("support/greeting")
        sdk.get("support/assistant")
        sdk.get("support/greeting")  # now the most recently used
        sdk.get("code/review")  # evicts support/assistant
        before = len(traffic.resolves())
        sdk.get("support/greeting")
        sdk.get("code/review")
        assert len(traffic.resolves()) == before
        sdk.get("support/assistant")
        assert len(traffic.resolves()) == before + 1

    def test_invalidate_a_name_drops_it_and_its_includers(
        self, sdk: Client, traffic: Traffic
    ) -> None:
        for name in ("support/greeting", "shared/tone-of-voice", "sentiment/few-shot"):
            sdk.get(name)
        assert sdk.invalidate("shared/tone-of-voice") == 2
        sdk.get("sentiment/few-shot")
        assert len(traffic.resolves()) == 3
        sdk.get("support/greeting")
        assert len(traffic.resolves()) == 4
        assert sdk.invalidate() == 2

    def test_preload_warms_every_name_and_locale(self, sdk: Client, traffic: Traffic) -> None:
        names = ["support/greeting", "support/assistant"]
        prompts = sdk.preload(names, locales=[None, "fr", "ja"])
        assert [(p.name, p.locale) for p in prompts] == [
            (name, locale) for name in names for locale in ("en", "fr", "ja")
        ]
        for name in names:
            sdk.get(name, locale="ja")
        assert len(traffic.resolves()) == 6

    def test_the_clients_own_label_move_shows_at_once(self, sdk: Client) -> None:
        assert sdk.get("summarize/article").version == 1
        sdk.set_label("summarize/article", "production", 2, reason="audience-aware")
        assert sdk.get("summarize/article").version == 2

    def test_an_includer_renders_the_moved_include_at_once(self, sdk: Client) -> None:
        # The render function a cached prompt keeps holds its includes' text: it must go
        # with the prompt when an include moves.
        article = sdk.get("summarize/article")
        assert "prefer plain words" in str(article.render(article="News."))
        sdk.set_label("shared/tone-of-voice", "production", 1, reason="back to the short one")
        rendered = str(sdk.get("summarize/article").render(article="News."))
        assert "Be friendly and clear." in rendered
        assert "prefer plain words" not in rendered

    def test_a_refreshed_prompt_renders_its_new_text(
        self, sdk: Client, demo: TestClient, clock: FakeClock
    ) -> None:
        values = {"article": "News."}
        assert "for a busy reader" not in str(sdk.get("summarize/article").render(**values))
        moved = demo.put("/v1/prompts/summarize/article/-/labels/production", json={"version": 2})
        assert moved.status_code == 200
        clock.advance(TTL + 1)
        sdk.get("summarize/article")  # stale: starts the refresh
        join_refreshes()
        assert "for a busy reader" in str(sdk.get("summarize/article").render(**values))


# Threads: the real app behind uvicorn, with its own committed database.


@pytest.fixture
def demo_server(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    database = Database.from_url(migrated_url)
    with database.session() as session:
        seed_demo(session)
    database.dispose()
    monkeypatch.setenv("REGISTRY_API_KEY", admin_token(migrated_url))
    with live_server(migrated_url) as url:
        yield url


class TestThreads:
    def test_one_client_shared_by_many_threads(self, demo_server: str) -> None:
        names = [entry["name"] for entry in LIBRARY if entry["name"] != "shared/tone-of-voice"]
        locales = [None, "fr", "de-AT", "ja", "it"]
        values = {"customer_name": "Mia", "open_tickets": 2, "question": "?", "ticket": "t"}
        values |= {"review": "r", "article": "a", "invoice": "i", "sender": "s", "email": "e"}
        values |= {"diff": "d"}

        def render(sdk: Client, name: str, locale: str | None) -> Any:
            prompt = sdk.get(name, locale=locale)
            return prompt.render(**{v.name: values[v.name] for v in prompt.variables if v.required})

        with Client(demo_server) as reference:
            expected = {(n, loc): render(reference, n, loc) for n in names for loc in locales}
        # A TTL of zero: every call after the first starts (or joins) a refresh, so the
        # cache is replaced under the readers' feet all the time.
        with Client(demo_server, cache_ttl=0) as sdk:

            def work(seed: int) -> int:
                rng = random.Random(seed)
                for _ in range(150):
                    name, locale = rng.choice(names), rng.choice(locales)
                    assert render(sdk, name, locale) == expected[name, locale]
                return seed

            with ThreadPoolExecutor(max_workers=16) as pool:
                assert sorted(pool.map(work, range(32))) == list(range(32))
            join_refreshes()
