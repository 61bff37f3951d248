"""The SDK's decisions, driven step by step with no I/O: the flows both clients run.

Each flow yields what to do (send a request, pause, refresh in the background) and is
sent the answers; here the answers are made by hand, so every retry, pause and fallback
decision is seen exactly, with no server, thread or event loop.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from registry import AsyncClient, Client, ConnectionError, NotFoundError
from registry.client._base import (
    BACKOFF_BASE,
    JITTER,
    Call,
    Flow,
    Gather,
    Request,
    Sleep,
    Spawn,
    cache_key,
    content_parser,
)
from registry.client._endpoints import Endpoints, operation

URL = "http://registry.test"
PROBLEM = {"Content-Type": "application/problem+json"}
TTL = 60.0
GREETING = cache_key("support/greeting", None, None, None, False, False)


def resolved(name: str = "support/greeting", etag: str = '"v1"') -> httpx.Response:
    """The registry's 200 answer to a resolve of ``name``."""
    body = {
        "prompt": name,
        "kind": "text",
        "version": 1,
        "label": "production",
        "template": "Hello {{ name }}",
        "messages": None,
        "variables": [{"name": "name", "type": "string"}],
        "config": {},
        "components": [],
        "locale": "en",
        "requested_locale": "en",
        "locale_match": "exact",
        "translation_status": None,
        "etag": etag,
    }
    return httpx.Response(200, json=body, headers={"ETag": etag})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def finish(flow: Flow[Any], answer: httpx.Response | Exception | None) -> Any:
    """Send the last answer into ``flow`` and return what the flow returned."""
    with pytest.raises(StopIteration) as stop:
        flow.throw(answer) if isinstance(answer, Exception) else flow.send(answer)
    return stop.value.value


@pytest.fixture
def sdk() -> Client:
    return Client(URL, api_key="k", max_retries=2)


def test_a_503_pauses_as_retry_after_says_then_the_answer_is_read(sdk: Client) -> None:
    flow = sdk._send_flow(Call("GET", "/v1/things", content_parser))
    request = next(flow)
    assert isinstance(request, Request)
    assert (request.method, request.url) == ("GET", URL + "/v1/things")
    assert request.headers["Authorization"] == "Bearer k"
    busy = httpx.Response(503, headers={**PROBLEM, "Retry-After": "3"}, json={"title": "Busy"})
    assert flow.send(busy) == Sleep(3.0)
    assert flow.send(None) == request
    assert finish(flow, httpx.Response(200, content=b"done")) == b"done"


def test_connection_failures_back_off_then_give_up(sdk: Client) -> None:
    flow = sdk._send_flow(Call("GET", "/v1/things", content_parser))
    next(flow)
    pauses = []
    for _attempt in range(2):
        pause = flow.throw(httpx.ConnectError("refused"))
        assert isinstance(pause, Sleep)
        pauses.append(pause.seconds)
        assert isinstance(flow.send(None), Request)
    with pytest.raises(ConnectionError, match=r"registry\.test"):
        flow.throw(httpx.ConnectError("refused"))
    for attempt, seconds in enumerate(pauses):
        longest = BACKOFF_BASE * 2**attempt
        assert longest * (1 - JITTER) <= seconds <= longest


def test_a_4xx_ends_the_call_without_a_pause(sdk: Client) -> None:
    flow = sdk._send_flow(Call("GET", "/v1/things", content_parser))
    next(flow)
    missing = httpx.Response(404, headers=PROBLEM, json={"title": "Not found", "detail": "gone"})
    with pytest.raises(NotFoundError, match="gone"):
        flow.send(missing)


def test_a_miss_while_the_registry_is_down_serves_the_fallback_and_then_tries_once(
    sdk: Client,
) -> None:
    key = cache_key("support/greeting", None, None, "fr", False, False)
    flow = sdk._get_flow(key, "Bonjour {{ name }}")
    assert isinstance(next(flow), Request)
    for _attempt in range(2):
        assert isinstance(flow.throw(httpx.ConnectError("refused")), Sleep)
        assert isinstance(flow.send(None), Request)
    prompt = finish(flow, httpx.ConnectError("refused"))
    assert prompt.is_fallback and prompt.render(name="Ana") == "Bonjour Ana"

    # The outage is known now: the next miss waits for one failure, not a backoff.
    other = cache_key("support/farewell", None, None, "fr", False, False)
    flow = sdk._get_flow(other, "Au revoir")
    assert isinstance(next(flow), Request)
    assert finish(flow, httpx.ConnectError("refused")).is_fallback


class TestCache:
    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def sdk(self, clock: FakeClock) -> Client:
        return Client(URL, cache_ttl=TTL, clock=clock)

    def fetch(self, sdk: Client) -> None:
        flow = sdk._get_flow(GREETING, None)
        assert isinstance(next(flow), Request)
        finish(flow, resolved())

    def test_a_stale_prompt_is_served_at_once_and_revalidated_in_the_background(
        self, sdk: Client, clock: FakeClock
    ) -> None:
        self.fetch(sdk)
        clock.now += TTL + 1
        flow = sdk._get_flow(GREETING, None)
        spawn = next(flow)
        assert isinstance(spawn, Spawn)
        assert (spawn.name, spawn.delay) == ("registry-refresh", 0.0)
        assert finish(flow, None).render(name="Ana") == "Hello Ana"

        # Only one caller refreshes; the others are served the stale prompt.
        assert finish(sdk._get_flow(GREETING, None), None).version == 1

        revalidation = next(spawn.flow)
        assert isinstance(revalidation, Request)
        assert revalidation.headers["If-None-Match"] == '"v1"'
        finish(spawn.flow, httpx.Response(304, headers={"ETag": '"v1"'}))
        assert sdk._fresh(GREETING) is not None

    def test_an_abandoned_refresh_lets_a_later_get_refresh_again(
        self, sdk: Client, clock: FakeClock
    ) -> None:
        self.fetch(sdk)
        clock.now += TTL + 1
        spawn = next(sdk._get_flow(GREETING, None))
        assert isinstance(spawn, Spawn)
        next(spawn.flow)
        spawn.flow.close()  # as a cancelled task's driver does
        assert isinstance(next(sdk._get_flow(GREETING, None)), Spawn)

    def test_preload_gathers_a_get_per_name_and_locale(self, sdk: Client) -> None:
        keys = [
            cache_key("support/greeting", None, None, tag, False, False) for tag in ("fr", "de")
        ]
        flow = sdk._preload_flow(keys)
        gather = next(flow)
        assert isinstance(gather, Gather)
        assert len(gather.flows) == 2
        prompts = finish(flow, ["fr prompt", "de prompt"])
        assert prompts == ["fr prompt", "de prompt"]


def test_each_call_is_written_once_and_awaited_by_the_async_client() -> None:
    calls = {name: value for name, value in vars(Endpoints).items() if isinstance(value, operation)}
    assert {"get", "render", "preload", "flush_exposures", "feedback", "publish"} <= set(calls)
    for name, call in calls.items():
        assert getattr(Client, name) is call.method
        assert getattr(AsyncClient, name).__wrapped__ is call.method
    # Neither client writes a public call of its own, but closing.
    own = {name for client in (Client, AsyncClient) for name in vars(client)} - set(calls)
    assert {name for name in own if not name.startswith("_")} == {"awaits", "close", "aclose"}


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_refresh_task_cancelled_by_aclose_lets_go_of_its_entry(anyio_backend: str) -> None:
    import asyncio

    asked = asyncio.Event()

    async def registry(request: httpx.Request) -> httpx.Response:
        if "If-None-Match" not in request.headers:
            return resolved()
        asked.set()
        await asyncio.Event().wait()  # the revalidation never answers
        raise AssertionError("unreachable")

    clock = FakeClock()
    http = httpx.AsyncClient(transport=httpx.MockTransport(registry), base_url=URL)
    sdk = AsyncClient(http_client=http, cache_ttl=TTL, clock=clock)
    await sdk.get("support/greeting")
    clock.now += TTL + 1
    await sdk.get("support/greeting")
    await asked.wait()
    entry = sdk._cache.get(GREETING)
    assert entry is not None and entry.refreshing
    await sdk.aclose()
    assert not entry.refreshing
