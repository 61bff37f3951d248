"""AsyncClient: the same behaviour as Client, awaited, against the real ASGI app."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry import (
    AsyncClient,
    Client,
    ConnectionError,
    NotFoundError,
    ServerError,
    write_bundle,
)
from registry.app import create_app
from registry.config import Settings
from registry.db import Database
from registry.demo import seed_demo

from conftest import TestTransaction, admin_token, bearer

pytestmark = pytest.mark.anyio
TTL = 60.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """Statuses of the answers the app gave, through the ASGI transport."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    async def __call__(self, response: httpx.Response) -> None:
        self.statuses.append(response.status_code)


@pytest.fixture
def demo(session: Session, client: TestClient) -> TestClient:
    seed_demo(session)
    return client


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def http(demo: TestClient, recorder: Recorder) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        # Like a server: an unhandled error is the app's 500 answer, not raised here.
        transport=httpx.ASGITransport(app=demo.app, raise_app_exceptions=False),
        base_url="http://testserver",
        headers=demo.headers,
        event_hooks={"response": [recorder]},
    )


@pytest.fixture
def concurrent_http(migrated_url: str, recorder: Recorder) -> httpx.AsyncClient:
    """The app as served, its own engine and one session per request, so that requests
    may overlap (the rolled-back test session serves one request at a time)."""
    database = Database.from_url(migrated_url)
    with database.session() as session:
        seed_demo(session)
    database.dispose()
    app = create_app(Settings(database_url=migrated_url))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers=bearer(admin_token(migrated_url)),
        event_hooks={"response": [recorder]},
    )


@pytest.fixture
def break_store(demo: TestClient) -> Iterator[Callable[[bool], None]]:
    store: TestTransaction = demo.app.state.db  # type: ignore[attr-defined]

    def set_broken(broken: bool) -> None:
        store.failure = RuntimeError("disk on fire") if broken else None

    yield set_broken
    set_broken(False)


async def join_refreshes() -> None:
    """Wait for the SDK's background refresh tasks."""
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "registry-refresh"]
    await asyncio.gather(*tasks)


async def no_sleep(_seconds: float) -> None:
    return None


class TestServing:
    async def test_renders_like_the_server(self, http: httpx.AsyncClient, demo: TestClient) -> None:
        values: dict[str, Any] = {"customer_name": "Mia", "open_tickets": 4}
        async with AsyncClient(http_client=http) as sdk:
            for locale in (None, "fr", "de-AT", "ja", "it"):
                local = await sdk.render("support/greeting", values, locale=locale)
                body = {"variables": values, "locale": locale}
                answer = demo.post("/v1/prompts/support/greeting/-/render", json=body).json()
                assert local == answer["text"], locale
            chat = await sdk.render("support/assistant", {"question": "?"}, locale="es")
            assert isinstance(chat, list) and chat[1] == {"role": "user", "content": "?"}

    async def test_cache_ttl_and_304_revalidation(
        self, http: httpx.AsyncClient, demo: TestClient, recorder: Recorder
    ) -> None:
        clock = FakeClock()
        async with AsyncClient(http_client=http, cache_ttl=TTL, clock=clock) as sdk:
            first = await sdk.get("summarize/article")
            assert await sdk.get("summarize/article") is first
            clock.now += TTL + 1
            assert await sdk.get("summarize/article") is first
            await join_refreshes()
            assert recorder.statuses == [200, 304]
            demo.put("/v1/prompts/summarize/article/-/labels/production", json={"version": 2})
            clock.now += TTL + 1
            assert (await sdk.get("summarize/article")).version == 1  # stale, refreshing
            await join_refreshes()
            assert (await sdk.get("summarize/article")).version == 2
            assert recorder.statuses == [200, 304, 200]

    async def test_one_refresh_task_per_key(
        self, http: httpx.AsyncClient, recorder: Recorder
    ) -> None:
        clock = FakeClock()
        async with AsyncClient(http_client=http, cache_ttl=TTL, clock=clock) as sdk:
            await sdk.get("support/greeting")
            clock.now += TTL + 1
            await asyncio.gather(*(sdk.get("support/greeting") for _ in range(50)))
            await join_refreshes()
            assert recorder.statuses == [200, 304]

    async def test_preload_gathers(
        self, concurrent_http: httpx.AsyncClient, recorder: Recorder
    ) -> None:
        async with AsyncClient(http_client=concurrent_http) as sdk:
            prompts = await sdk.preload(["support/greeting", "code/review"], locales=[None, "de"])
            assert [p.locale for p in prompts] == ["en", "de", "en", "en"]
            await sdk.get("code/review", locale="de")
            assert len(recorder.statuses) == 4


class TestFailures:
    async def test_500_retried_then_stale_served(
        self, http: httpx.AsyncClient, recorder: Recorder, break_store: Callable[[bool], None]
    ) -> None:
        clock = FakeClock()
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        async with AsyncClient(http_client=http, clock=clock, sleep=sleep) as sdk:
            greeting = await sdk.get("support/greeting")
            break_store(True)
            with pytest.raises(ServerError):
                await sdk.get("support/assistant")
            assert len(slept) == 2
            clock.now += TTL + 1
            assert await sdk.get("support/greeting") is greeting
            await join_refreshes()
            assert await sdk.get("support/greeting") is greeting
            fallback = await sdk.get("support/assistant", fallback="{{ question }}")
            assert fallback.is_fallback

    async def test_server_down_fallback_and_bundle(self, demo: TestClient, tmp_path: Path) -> None:
        path = tmp_path / "prompts.json"
        write_bundle(Client(http_client=demo), path)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        async with AsyncClient(url, sleep=no_sleep) as sdk:
            with pytest.raises(ConnectionError):
                await sdk.get("support/greeting")
            assert (await sdk.get("support/greeting", fallback="Hi")).is_fallback
        async with AsyncClient(url, bundle=path, sleep=no_sleep) as sdk:
            assert (await sdk.get("support/greeting", locale="ja")).origin == "bundle"

    async def test_a_prompt_not_published_yet_serves_the_fallback(
        self, http: httpx.AsyncClient, recorder: Recorder
    ) -> None:
        async with AsyncClient(http_client=http, sleep=no_sleep) as sdk:
            prompt = await sdk.get("onboarding/welcome", fallback="Hello {{ name }}")
            assert prompt.is_fallback
            assert prompt.render(name="Bo") == "Hello Bo"
            with pytest.raises(NotFoundError):
                await sdk.get("onboarding/welcome")
        assert recorder.statuses == [404, 404]

    async def test_management_calls(
        self, http: httpx.AsyncClient, make_token: Callable[..., str]
    ) -> None:
        token = make_token("reviewer", owner="async-bot")
        async with AsyncClient(http_client=http, api_key=token) as sdk:
            await sdk.create_prompt("sdk/async")
            version = await sdk.publish(
                "sdk/async", template="Hey {{ who }}", variables=[{"name": "who"}]
            )
            assert version.author == "async-bot"
            await sdk.set_label("sdk/async", "production", version.number)
            assert await sdk.render("sdk/async", {"who": "Bo"}) == "Hey Bo"
            assert (await sdk.read_prompt("sdk/async")).labels == {"production": 1}
