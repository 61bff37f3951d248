"""The SDK when the registry is down or failing: retries, stale-if-error, fallbacks, errors."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from registry import (
    AuthError,
    Client,
    ConflictError,
    ConnectionError,
    NotFoundError,
    RateLimitError,
    RegistryError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from registry.client._base import BACKOFF_BASE, JITTER, parse_retry_after
from registry.demo import seed_demo

from conftest import TestTransaction

TTL = 60.0
PROBLEM = "application/problem+json"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def join_refreshes() -> None:
    for thread in threading.enumerate():
        if thread.name == "registry-refresh":
            thread.join(timeout=10)


class Unpluggable(httpx.BaseTransport):
    """The network between the SDK and the real app, with a cable to pull."""

    def __init__(self, app: TestClient) -> None:
        self.app = app
        self.down = False
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.down:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        answer = self.app.send(request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def scripted(*answers: httpx.Response | Exception) -> httpx.Client:
    """A client whose network gives these answers in turn: the edge we do not own (a proxy,
    a load balancer, a broken connection)."""
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.Client(transport=httpx.MockTransport(handle), base_url="http://registry")


@pytest.fixture
def demo(session: Session, client: TestClient) -> TestClient:
    seed_demo(session)
    return client


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def closed_url() -> str:
    """A loopback URL where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def break_store(demo: TestClient) -> Iterator[Callable[[BaseException | None], None]]:
    """Make the real app's database fail with an exception (None: work again)."""
    store: TestTransaction = demo.app.state.db  # type: ignore[attr-defined]

    def set_failure(exc: BaseException | None) -> None:
        store.failure = exc

    yield set_failure
    set_failure(None)


@pytest.fixture
def count_requests(demo: TestClient) -> Iterator[list[int]]:
    statuses: list[int] = []
    demo.event_hooks = {"request": [], "response": [lambda r: statuses.append(r.status_code)]}
    yield statuses
    demo.event_hooks = {"request": [], "response": []}


def assert_backoff(sleeps: list[float]) -> None:
    for attempt, delay in enumerate(sleeps):
        full = BACKOFF_BASE * 2**attempt
        assert full * (1 - JITTER) <= delay <= full


class TestServerDown:
    def test_nothing_cached_raises_after_retrying(
        self, closed_url: str, sleeps: list[float]
    ) -> None:
        sdk = Client(closed_url, max_retries=3, sleep=sleeps.append)
        with pytest.raises(ConnectionError, match="cannot reach"):
            sdk.get("support/greeting")
        assert len(sleeps) == 3
        assert_backoff(sleeps)

    def test_nothing_cached_serves_the_fallback(self, closed_url: str, sleeps: list[float]) -> None:
        with Client(closed_url, sleep=sleeps.append) as sdk:
            prompt = sdk.get("support/greeting", locale="fr-CA", fallback="Bonjour {{ name }} !")
            assert prompt.is_fallback and prompt.origin == "fallback"
            assert (prompt.version, prompt.locale, prompt.label) == (0, "fr_CA", None)
            assert prompt.render(name="Mia", unused=1) == "Bonjour Mia !"
            with pytest.raises(ValidationError, match="'name' is undefined"):
                prompt.render()
            chat = sdk.get(
                "support/assistant",
                fallback=[
                    {"role": "system", "content": "You help customers."},
                    {"role": "user", "content": "{{ question }}"},
                ],
            )
            assert chat.render(question="Hi?") == [
                {"role": "system", "content": "You help customers."},
                {"role": "user", "content": "Hi?"},
            ]
        # The first miss retried; once the outage is known, a miss tries once.
        assert len(sleeps) == 2

    def test_cached_prompts_are_served_stale_and_the_outage_logged_once(
        self, demo: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        network = Unpluggable(demo)
        clock = FakeClock()
        http = httpx.Client(transport=network, base_url="http://testserver", headers=demo.headers)
        sdk = Client(http_client=http, cache_ttl=TTL, clock=clock, sleep=lambda _: None)
        greeting = sdk.get("support/greeting", locale="fr")
        network.down = True
        caplog.set_level(logging.INFO, logger="registry.client")
        for _ in range(20):
            clock.advance(TTL + 1)
            assert sdk.get("support/greeting", locale="fr") is greeting
            join_refreshes()
            with pytest.raises(ConnectionError):
                sdk.get("code/review")
            assert sdk.get("code/review", fallback="Review {{ diff }}").is_fallback
        warnings = [r.getMessage() for r in caplog.records]
        assert len(warnings) == 1 and "unreachable" in warnings[0]
        network.down = False
        assert not sdk.get("code/review").is_fallback
        assert len(caplog.records) == 2 and "answers again" in caplog.records[1].getMessage()

    def test_a_failed_refresh_keeps_the_entry_for_another_ttl(self, demo: TestClient) -> None:
        network = Unpluggable(demo)
        clock = FakeClock()
        http = httpx.Client(transport=network, base_url="http://testserver", headers=demo.headers)
        sdk = Client(http_client=http, cache_ttl=TTL, clock=clock, max_retries=0)
        sdk.get("support/greeting")
        network.down = True
        clock.advance(TTL + 1)
        sdk.get("support/greeting")
        join_refreshes()
        assert network.requests == 2
        sdk.get("support/greeting")
        join_refreshes()
        assert network.requests == 2  # not one refresh per call during the outage
        network.down = False
        clock.advance(TTL + 1)
        sdk.get("support/greeting")
        join_refreshes()
        assert network.requests == 3


class TestServerErrors:
    def test_a_500_is_retried_then_raised(
        self,
        demo: TestClient,
        break_store: Callable[[BaseException | None], None],
        count_requests: list[int],
        sleeps: list[float],
    ) -> None:
        break_store(RuntimeError("disk on fire"))
        sdk = Client(http_client=demo, max_retries=2, sleep=sleeps.append)
        with pytest.raises(ServerError) as caught:
            sdk.get("support/greeting")
        assert (caught.value.status, caught.value.title) == (500, "Internal error")
        assert "unexpected error" in caught.value.detail
        assert count_requests == [500, 500, 500]
        assert_backoff(sleeps)

    def test_a_500_serves_the_cached_prompt(
        self,
        demo: TestClient,
        break_store: Callable[[BaseException | None], None],
        count_requests: list[int],
    ) -> None:
        clock = FakeClock()
        sdk = Client(http_client=demo, cache_ttl=TTL, clock=clock, sleep=lambda _: None)
        greeting = sdk.get("support/greeting")
        break_store(RuntimeError("disk on fire"))
        clock.advance(TTL + 1)
        assert sdk.get("support/greeting") is greeting
        join_refreshes()
        assert sdk.get("support/greeting") is greeting
        with pytest.raises(ServerError):
            sdk.get("support/assistant")
        assert sdk.get("support/assistant", fallback="{{ question }}").is_fallback
        break_store(None)
        clock.advance(TTL + 1)
        sdk.get("support/greeting")
        join_refreshes()
        assert count_requests[-1] == 304

    def test_the_apps_503_retry_after_is_honoured(
        self,
        demo: TestClient,
        break_store: Callable[[BaseException | None], None],
        sleeps: list[float],
    ) -> None:
        break_store(OperationalError("SELECT 1", {}, Exception("database is locked")))
        sdk = Client(http_client=demo, max_retries=2, sleep=sleeps.append)
        with pytest.raises(ServerError) as caught:
            sdk.get("support/greeting")
        assert caught.value.status == 503
        assert caught.value.retry_after == 1.0
        assert sleeps == [1.0, 1.0]

    def test_a_proxys_429_is_retried_after_what_it_says(
        self, demo: TestClient, sleeps: list[float]
    ) -> None:
        real = demo.get("/v1/prompts/support/greeting/-/resolve")
        later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
        http = scripted(
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(429, headers={"Retry-After": later}),
            httpx.Response(200, headers=real.headers, content=real.content),
        )
        sdk = Client(http_client=http, max_retries=2, sleep=sleeps.append)
        assert sdk.get("support/greeting").version == 1
        assert sleeps[0] == 2.0
        assert 25 <= sleeps[1] <= 30

    def test_a_retry_after_too_long_to_wait_is_raised_at_once(self, sleeps: list[float]) -> None:
        http = scripted(httpx.Response(429, headers={"Retry-After": "3600"}, text="slow down"))
        sdk = Client(http_client=http, max_retries=5, sleep=sleeps.append)
        with pytest.raises(RateLimitError) as caught:
            sdk.get("support/greeting")
        assert (caught.value.retry_after, sleeps) == (3600.0, [])

    def test_timeouts_are_retried(self, sleeps: list[float]) -> None:
        timeout = httpx.ReadTimeout("timed out")
        http = scripted(timeout, timeout, timeout)
        sdk = Client(http_client=http, max_retries=2, sleep=sleeps.append)
        with pytest.raises(TimeoutError) as caught:
            sdk.get("support/greeting")
        assert isinstance(caught.value, ConnectionError)
        assert caught.value.__cause__ is timeout
        assert len(sleeps) == 2

    def test_a_proxy_page_is_a_server_error(self) -> None:
        page = httpx.Response(502, html="<html><body>Bad gateway</body></html>")
        http = scripted(page)
        with pytest.raises(ServerError, match="Bad gateway"):
            Client(http_client=http, max_retries=0).get("support/greeting")


class TestNotPublishedYet:
    """A 404 on get: the application's fallback when it gave one, logged once per name."""

    def test_a_missing_prompt_serves_the_fallback_asked_again_each_time(
        self,
        demo: TestClient,
        count_requests: list[int],
        sleeps: list[float],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        sdk = Client(http_client=demo, sleep=sleeps.append)
        with caplog.at_level(logging.WARNING, logger="registry.client"):
            for _ in range(3):
                prompt = sdk.get("onboarding/welcome", locale="de-AT", fallback="Hallo {{ n }}")
                assert prompt.is_fallback and prompt.locale == "de_AT"
                assert prompt.render(n="Ada") == "Hallo Ada"
            chat = sdk.get("onboarding/tour", fallback=[{"role": "user", "content": "{{ q }}"}])
            assert chat.render(q="Where?") == [{"role": "user", "content": "Where?"}]
        # Not retried, not cached: each get asks, so a publish is served at once.
        assert (count_requests, sleeps) == ([404] * 4, [])
        logged = [r.getMessage() for r in caplog.records]
        assert len(logged) == 2
        assert "onboarding/welcome" in logged[0] and "fallback" in logged[0]
        assert "onboarding/tour" in logged[1]

    def test_the_prompt_is_served_once_published_and_logged_again_if_lost(
        self, demo: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        sdk = Client(http_client=demo, cache_ttl=0)
        sdk.create_prompt("onboarding/welcome")
        fallback = "Welcome, {{ name }}."
        with caplog.at_level(logging.WARNING, logger="registry.client"):
            # Created, but no version carries the production label yet.
            assert sdk.get("onboarding/welcome", fallback=fallback).is_fallback
            assert sdk.get("onboarding/welcome", fallback=fallback).is_fallback
            assert len(caplog.records) == 1
            sdk.publish(
                "onboarding/welcome",
                template="Welcome aboard, {{ name }}.",
                variables=[{"name": "name", "type": "string"}],
                labels=["production"],
            )
            served = sdk.get("onboarding/welcome", fallback=fallback)
            assert not served.is_fallback
            assert served.render(name="Ada") == "Welcome aboard, Ada."
            # A label or version that does not exist is not published either.
            assert sdk.get("onboarding/welcome", label="beta", fallback=fallback).is_fallback
            assert len(caplog.records) == 2

    def test_without_a_fallback_the_404_is_raised_and_not_retried(
        self, demo: TestClient, count_requests: list[int], sleeps: list[float]
    ) -> None:
        sdk = Client(http_client=demo, sleep=sleeps.append)
        with pytest.raises(NotFoundError) as caught:
            sdk.get("no/such-prompt")
        assert "no/such-prompt" in caught.value.detail
        assert (count_requests, sleeps) == ([404], [])


class TestClientErrors:
    def test_validation_error_carries_the_problems_errors(self, demo: TestClient) -> None:
        sdk = Client(http_client=demo)
        with pytest.raises(ValidationError) as caught:
            sdk.get("support/greeting", label="production", version=1)
        assert caught.value.status == 422
        assert [item.loc for item in caught.value.errors] == [("query", "label")]
        with pytest.raises(ValidationError) as bad_locale:
            sdk.get("support/greeting", locale="xx-!!")
        assert bad_locale.value.errors[0].loc == ("query", "locale")

    def test_conflict(self, demo: TestClient) -> None:
        sdk = Client(http_client=demo)
        with pytest.raises(ConflictError):
            sdk.create_prompt("support/greeting")

    @pytest.mark.parametrize("status", [401, 403])
    def test_auth_errors(self, status: int, sleeps: list[float]) -> None:
        problem = {"type": "about:blank", "title": "Unauthorized", "status": status}
        problem |= {"detail": "this API key may not read prompts", "errors": []}
        http = scripted(httpx.Response(status, json=problem, headers={"Content-Type": PROBLEM}))
        with pytest.raises(AuthError, match="may not read prompts"):
            Client(http_client=http, sleep=sleeps.append).get("support/greeting")
        assert sleeps == []

    def test_every_error_is_a_registry_error(self) -> None:
        for error in (NotFoundError, ValidationError, ConflictError, AuthError, RateLimitError):
            assert issubclass(error, RegistryError)
        assert issubclass(TimeoutError, ConnectionError)
        assert issubclass(ServerError, RegistryError)


class TestConfiguration:
    def test_url_key_and_author_come_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: list[httpx.Request] = []

        def handle(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(404, json={"title": "Not found", "detail": "nothing"})

        monkeypatch.setenv("REGISTRY_URL", "http://registry.internal:8000/")
        monkeypatch.setenv("REGISTRY_API_KEY", "sk-test")
        assert Client().base_url == "http://registry.internal:8000"
        # An injected client without a base URL of its own: the environment's is used.
        sdk = Client(http_client=httpx.Client(transport=httpx.MockTransport(handle)))
        with pytest.raises(NotFoundError):
            sdk.get("support/greeting")
        request = seen[0]
        assert str(request.url).startswith("http://registry.internal:8000/v1/prompts/")
        assert request.headers["Authorization"] == "Bearer sk-test"
        assert request.headers["User-Agent"].startswith("prompt-registry-python/")

    def test_a_client_needs_a_registry_or_a_bundle(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("REGISTRY_URL", raising=False)
        with pytest.raises(ValueError, match="REGISTRY_URL"):
            Client()

    @pytest.mark.parametrize(
        ("header", "seconds"),
        [("3", 3.0), ("0.5", 0.5), ("-4", 0.0), ("soon", None), (None, None)],
    )
    def test_retry_after_values(self, header: str | None, seconds: float | None) -> None:
        assert parse_retry_after(header) == seconds

    def test_retry_after_as_a_date(self) -> None:
        now = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
        header = "Mon, 04 May 2026 09:00:42 GMT"
        assert parse_retry_after(header, now=now) == 42.0
