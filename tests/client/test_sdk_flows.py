"""The SDK's decisions, driven step by step with no I/O: the flows both clients run.

Each flow yields what to do (send a request, pause, refresh in the background) and is
sent the answers; here the answers are made by hand, so every retry, pause and fallback
decision is seen exactly, with no server, thread or event loop.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from registry import Client, ConnectionError, NotFoundError
from registry.client._base import (
    BACKOFF_BASE,
    JITTER,
    Call,
    Flow,
    Request,
    Sleep,
    cache_key,
    content_parser,
)

URL = "http://registry.test"
PROBLEM = {"Content-Type": "application/problem+json"}


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
